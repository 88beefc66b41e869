import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'fs';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { waitFor } from '../test-utils/wait-for';
import { acquireLock } from '../lock/lock';
import { readLockStatus } from '../lock/status';
import { runGenerate } from './run-generate';

describe('runGenerate', () => {
  const tmp = useTempDir();
  const env = () => {
    const lockDir = path.join(tmp(), 'locks');
    mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    return { lockDir, workspaceRoot: tmp(), outDir: path.join(tmp(), 'dist', 'gen') };
  };
  const read = (dir: string, rel: string) => readFileSync(path.join(dir, rel), 'utf8');

  it('commits what generate(ctx) emits and returns', async () => {
    const e = env();
    const result = await runGenerate({
      ...e,
      producer: {
        kind: 'function',
        name: 'gen',
        generate: (ctx) => {
          ctx.emit('a.ts', 'A');
          return { 'lib/b.ts': 'B' };
        },
      },
    });
    expect(result.stats).toMatchObject({ written: 2 });
    expect(read(e.outDir, 'a.ts')).toBe('A');
    expect(read(e.outDir, 'lib/b.ts')).toBe('B');
  });

  it('leaves outDir exactly as it was when the generator throws', async () => {
    const e = env();
    await runGenerate({ ...e, producer: { kind: 'function', name: 'good', generate: () => ({ 'keep.txt': 'v1' }) } });
    const failed = runGenerate({
      ...e,
      producer: {
        kind: 'function',
        name: 'tools/bad.js',
        generate: (ctx) => {
          ctx.emit('keep.txt', 'v2');
          throw new Error('schema not found');
        },
      },
    });
    await expect(failed).rejects.toMatchObject({ code: 'EGENERATOR', message: expect.stringContaining('schema not found') });
    expect(readdirSync(e.outDir)).toEqual(['keep.txt']);
    expect(read(e.outDir, 'keep.txt')).toBe('v1');
  });

  it('refuses a generator that returns something other than text or bytes', async () => {
    const e = env();
    const bad = runGenerate({ ...e, producer: { kind: 'function', name: 'g', generate: () => ({ 'a.json': { not: 'text' } as never }) } });
    await expect(bad).rejects.toMatchObject({ code: 'EGENERATOR' });
  });

  it.each([
    ['a string', () => 'just text' as never, /returned a string/],
    ['a number', () => 42 as never, /returned a number/],
    ['an iterable of non-pairs', () => [['a.txt']] as never, /not \[path, content\] pairs/],
    ['null content through emit', (ctx: any) => ctx.emit('a.txt', null), /gave null as the content of 'a.txt'/],
    ['a non-string path through emit', (ctx: any) => ctx.emit(7, 'x'), /path of type number/],
  ])('refuses a generator that gives %s, with EGENERATOR and a hint, writing nothing', async (_what, generate, message) => {
    const e = env();
    await expect(runGenerate({ ...e, producer: { kind: 'function', name: 'g', generate } })).rejects.toMatchObject({
      code: 'EGENERATOR',
      message: expect.stringMatching(message),
      hint: expect.any(String),
    });
    expect(readdirSync(e.outDir)).toEqual([]);
  });

  it('prunes only what an earlier generation wrote: a file put there by someone else is left, and reported once', async () => {
    const e = env();
    const gen = (files: Record<string, string>) => ({ kind: 'function' as const, name: 'g', generate: () => files });
    mkdirSync(e.outDir, { recursive: true });
    writeFileSync(path.join(e.outDir, 'theirs.txt'), 'not lockstep');
    const first = await runGenerate({ ...e, producer: gen({ 'a.txt': 'A', 'old.txt': 'O' }) });
    expect(first).toMatchObject({ firstGeneration: true, newlyLeft: ['theirs.txt'], stats: { pruned: 0, left: ['theirs.txt'] } });
    const second = await runGenerate({ ...e, producer: gen({ 'a.txt': 'A' }) });
    expect(second).toMatchObject({ firstGeneration: false, newlyLeft: [], stats: { pruned: 1, left: ['theirs.txt'] } });
    expect(readdirSync(e.outDir).sort()).toEqual(['a.txt', 'theirs.txt']);
    // A file of an older generation coming back (as an Nx cache restore does) is still lockstep's to prune.
    writeFileSync(path.join(e.outDir, 'old.txt'), 'O');
    expect((await runGenerate({ ...e, producer: gen({ 'a.txt': 'A' }) })).stats).toMatchObject({ pruned: 1 });
    expect((await runGenerate({ ...e, prune: 'all', producer: gen({ 'a.txt': 'A' }) })).stats).toMatchObject({ pruned: 1, left: [] });
    expect(readdirSync(e.outDir)).toEqual(['a.txt']);
  });

  it('refuses an outDir whose link leads to the workspace root, and deletes nothing there', async () => {
    const e = env();
    writeFileSync(path.join(tmp(), 'canary.txt'), 'keep me');
    mkdirSync(path.join(tmp(), 'dist'), { recursive: true });
    symlinkSync('..', path.join(tmp(), 'dist', 'rootlink'));
    const run = runGenerate({ ...e, outDir: path.join(tmp(), 'dist', 'rootlink'), prune: 'all', producer: { kind: 'function', name: 'g', generate: () => ({ 'a.txt': 'A' }) } });
    await expect(run).rejects.toMatchObject({ code: 'EOUTDIRUNSAFE', hint: expect.any(String) });
    expect(readFileSync(path.join(tmp(), 'canary.txt'), 'utf8')).toBe('keep me');
    expect(existsSync(path.join(tmp(), 'a.txt'))).toBe(false);
  });

  it('checks outDir again under the lock: a link re-pointed while the run waited is refused, nothing written', async () => {
    const e = env();
    const [real, other] = [path.join(tmp(), 'dist', 'real'), path.join(tmp(), 'dist', 'other')];
    mkdirSync(real, { recursive: true });
    mkdirSync(other, { recursive: true });
    const link = path.join(tmp(), 'dist', 'link');
    symlinkSync('real', link);
    const holder = await acquireLock(`path:${real}`, { lockDir: e.lockDir });
    const run = runGenerate({ ...e, outDir: link, lockTimeoutMs: 40_000, producer: { kind: 'function', name: 'g', generate: () => ({ 'a.txt': 'A' }) } });
    await waitFor(() => readLockStatus(`path:${real}`, { lockDir: e.lockDir }).queue.length > 0, { timeoutMs: 30_000, what: 'the run to queue for the lock on dist/real' });
    unlinkSync(link);
    symlinkSync('other', link);
    await holder.release();
    await expect(run).rejects.toMatchObject({ code: 'EOUTDIRUNSAFE', message: expect.stringMatching(/re-pointed/) });
    expect(readdirSync(real)).toEqual([]);
    expect(readdirSync(other)).toEqual([]);
  }, 60_000);

  // The command producers start a shell (and mkdir, printf): sized for a busy 2-core machine.
  const COMMAND_TEST_MS = 60_000;

  it('runs a command that writes into $LOCKSTEP_OUT_DIR and removes its staging dir', async () => {
    const e = env();
    await runGenerate({ ...e, producer: { kind: 'command', command: 'mkdir -p "$LOCKSTEP_OUT_DIR/sub" && printf hi > "$LOCKSTEP_OUT_DIR/sub/x.txt"' } });
    expect(read(e.outDir, 'sub/x.txt')).toBe('hi');
    expect(readdirSync(path.dirname(e.outDir))).toEqual(['gen']);
  }, COMMAND_TEST_MS);

  it('leaves outDir untouched when the command fails', async () => {
    const e = env();
    await runGenerate({ ...e, producer: { kind: 'command', command: 'printf v1 > "$LOCKSTEP_OUT_DIR/x.txt"' } });
    const failed = runGenerate({ ...e, producer: { kind: 'command', command: 'printf v2 > "$LOCKSTEP_OUT_DIR/x.txt"; exit 3' } });
    await expect(failed).rejects.toMatchObject({ code: 'EGENERATOR', message: expect.stringContaining('exited with code 3') });
    expect(read(e.outDir, 'x.txt')).toBe('v1');
    expect(readdirSync(path.dirname(e.outDir))).toEqual(['gen']);
  }, COMMAND_TEST_MS);

  it('fails with ELOCKTIMEOUT while another process holds outDir, and writes nothing', async () => {
    const e = env();
    mkdirSync(e.outDir, { recursive: true });
    const holder = await acquireLock(`path:${e.outDir}`, { lockDir: e.lockDir, command: 'nx run app:generate' });
    const waiting = runGenerate({ ...e, lockTimeoutMs: 100, producer: { kind: 'function', name: 'g', generate: () => ({ 'a.txt': 'A' }) } });
    await expect(waiting).rejects.toMatchObject({ code: 'ELOCKTIMEOUT', message: expect.stringContaining('nx run app:generate') });
    expect(existsSync(path.join(e.outDir, 'a.txt'))).toBe(false);
    await holder.release();
  });

  it('runs without the lock when asked (LOCKSTEP_NO_LOCK)', async () => {
    const e = env();
    mkdirSync(e.outDir, { recursive: true });
    const holder = await acquireLock(`path:${e.outDir}`, { lockDir: e.lockDir });
    await runGenerate({ ...e, noLock: true, lockTimeoutMs: 100, producer: { kind: 'function', name: 'g', generate: () => ({ 'a.txt': 'A' }) } });
    expect(read(e.outDir, 'a.txt')).toBe('A');
    await holder.release();
  });
});
