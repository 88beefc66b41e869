import { existsSync, mkdirSync, readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { acquireLock } from '../lock/lock';
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

  it('runs a command that writes into $LOCKSTEP_OUT_DIR and removes its staging dir', async () => {
    const e = env();
    await runGenerate({ ...e, producer: { kind: 'command', command: 'mkdir -p "$LOCKSTEP_OUT_DIR/sub" && printf hi > "$LOCKSTEP_OUT_DIR/sub/x.txt"' } });
    expect(read(e.outDir, 'sub/x.txt')).toBe('hi');
    expect(readdirSync(path.dirname(e.outDir))).toEqual(['gen']);
  });

  it('leaves outDir untouched when the command fails', async () => {
    const e = env();
    await runGenerate({ ...e, producer: { kind: 'command', command: 'printf v1 > "$LOCKSTEP_OUT_DIR/x.txt"' } });
    const failed = runGenerate({ ...e, producer: { kind: 'command', command: 'printf v2 > "$LOCKSTEP_OUT_DIR/x.txt"; exit 3' } });
    await expect(failed).rejects.toMatchObject({ code: 'EGENERATOR', message: expect.stringContaining('exited with code 3') });
    expect(read(e.outDir, 'x.txt')).toBe('v1');
    expect(readdirSync(path.dirname(e.outDir))).toEqual(['gen']);
  });

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
