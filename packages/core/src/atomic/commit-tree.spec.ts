import { chmodSync, watch, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync, existsSync, readdirSync } from 'fs';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { sleep } from '../util/sleep';
import { commitTree } from './commit-tree';
import { tempSiblingPath } from './temp-name';

const files = (tree: Record<string, string>) => Object.entries(tree).map(([p, data]) => ({ path: p, source: { data } }));

describe('commitTree', () => {
  const tmp = useTempDir();
  const out = () => path.join(tmp(), 'out');
  const read = (rel: string) => readFileSync(path.join(out(), rel), 'utf8');

  it('writes new files into nested directories and creates outDir', async () => {
    const stats = await commitTree(out(), files({ 'a.txt': 'A', 'lib/b/c.txt': 'C' }));
    expect(stats).toMatchObject({ written: 2, unchanged: 0, pruned: 0 });
    expect(read('a.txt')).toBe('A');
    expect(read('lib/b/c.txt')).toBe('C');
  });

  it('leaves byte-identical files alone, keeping their mtime', async () => {
    await commitTree(out(), files({ 'a.txt': 'same', 'b.txt': 'old' }));
    // Whole seconds: utimes keeps what every filesystem can store exactly.
    const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    utimesSync(path.join(out(), 'a.txt'), past, past);
    const stats = await commitTree(out(), files({ 'a.txt': 'same', 'b.txt': 'new' }));
    expect(stats).toMatchObject({ written: 1, unchanged: 1 });
    expect(statSync(path.join(out(), 'a.txt')).mtimeMs).toBe(past.getTime());
    expect(read('b.txt')).toBe('new');
  });

  it('rewrites a file of the same size whose bytes differ', async () => {
    await commitTree(out(), files({ 'a.txt': 'abc' }));
    expect(await commitTree(out(), files({ 'a.txt': 'abd' }))).toMatchObject({ written: 1, unchanged: 0 });
    expect(read('a.txt')).toBe('abd');
  });

  it('prunes stale files, then empty directories, but never outDir or directories that hold new output', async () => {
    await commitTree(out(), files({ 'keep/a.txt': '1', 'gone/deep/b.txt': '2', 'keep/stale.txt': '3' }));
    const stats = await commitTree(out(), files({ 'keep/a.txt': '1' }));
    expect(stats).toMatchObject({ pruned: 2, dirsRemoved: 2 });
    expect(readdirSync(out())).toEqual(['keep']);
    expect(readdirSync(path.join(out(), 'keep'))).toEqual(['a.txt']);
    await commitTree(out(), []);
    expect(existsSync(out())).toBe(true);
    expect(readdirSync(out())).toEqual([]);
  });

  it('keeps stale files with prune: false', async () => {
    await commitTree(out(), files({ 'old.txt': 'x' }));
    expect(await commitTree(out(), files({ 'new.txt': 'y' }), { prune: false })).toMatchObject({ pruned: 0 });
    expect(readdirSync(out()).sort()).toEqual(['new.txt', 'old.txt']);
  });

  it('with prune: { only }, removes just the named stale files and the directories that emptied; everything else is left and listed', async () => {
    await commitTree(out(), files({ 'ours/old.txt': '1', 'keep.txt': 'k' }));
    mkdirSync(path.join(out(), 'theirs', 'empty'), { recursive: true });
    writeFileSync(path.join(out(), 'theirs', 'notes.md'), 'mine');
    writeFileSync(path.join(out(), 'ours', 'foreign.txt'), 'not lockstep');
    const stats = await commitTree(out(), files({ 'keep.txt': 'k' }), { prune: { only: new Set(['ours/old.txt', 'keep.txt']) } });
    expect(stats).toMatchObject({ pruned: 1, left: ['ours/foreign.txt', 'theirs/notes.md'] });
    expect(existsSync(path.join(out(), 'ours', 'old.txt'))).toBe(false);
    expect(readFileSync(path.join(out(), 'ours', 'foreign.txt'), 'utf8')).toBe('not lockstep');
    expect(existsSync(path.join(out(), 'theirs', 'empty'))).toBe(true);
  });

  it('with prune: { only }, removes a directory once pruning emptied it', async () => {
    await commitTree(out(), files({ 'gone/deep/b.txt': '2', 'a.txt': '1' }));
    const stats = await commitTree(out(), files({ 'a.txt': '1' }), { prune: { only: new Set(['gone/deep/b.txt']) } });
    expect(stats).toMatchObject({ pruned: 1, dirsRemoved: 2, left: [] });
    expect(readdirSync(out())).toEqual(['a.txt']);
  });

  it('resolves `..` by name inside outDir, and refuses only a climb above it', async () => {
    await commitTree(out(), files({ 'sub/../inside.txt': 'in' }));
    expect(read('inside.txt')).toBe('in');
    await expect(commitTree(out(), files({ 'sub/../../outside.txt': 'x' }))).rejects.toMatchObject({ code: 'EOUTSIDE' });
    expect(existsSync(path.join(tmp(), 'outside.txt'))).toBe(false);
  });

  it('replaces a stale file standing where a directory must go, and a stale directory where a file must go', async () => {
    await commitTree(out(), files({ 'x': 'file', 'y/inner.txt': 'dir' }));
    await commitTree(out(), files({ 'x/now-a-dir.txt': '1', 'y': 'now a file' }));
    expect(read('x/now-a-dir.txt')).toBe('1');
    expect(read('y')).toBe('now a file');
  });

  it('sweeps temp files a killed run leaked, by exact pattern only', async () => {
    mkdirSync(path.join(out(), 'sub'), { recursive: true });
    const leaked = tempSiblingPath(path.join(out(), 'sub', 'a.txt'));
    writeFileSync(leaked, 'half');
    writeFileSync(path.join(out(), 'sub', '.a.txt.lstmp-mine'), 'a user file that merely looks similar');
    const stats = await commitTree(out(), files({ 'sub/a.txt': 'A', 'sub/.a.txt.lstmp-mine': 'a user file that merely looks similar' }));
    expect(stats.sweptTemps).toBe(1);
    expect(existsSync(leaked)).toBe(false);
    expect(existsSync(path.join(out(), 'sub', '.a.txt.lstmp-mine'))).toBe(true);
  });

  it('refuses paths that leave outDir, and writes nothing', async () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'C:\\x', '']) {
      await expect(commitTree(out(), files({ ok: '1', [bad]: 'x' }))).rejects.toMatchObject({ code: 'EOUTSIDE' });
    }
    expect(existsSync(path.join(out(), 'ok'))).toBe(false);
  });

  it('refuses to write through a symlinked directory that points outside outDir', async () => {
    const outside = path.join(tmp(), 'outside');
    mkdirSync(outside);
    mkdirSync(out());
    symlinkSync(outside, path.join(out(), 'link'));
    await expect(commitTree(out(), files({ 'link/evil.txt': 'x' }))).rejects.toMatchObject({ code: 'EOUTSIDE' });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses a path emitted both as a file and as a directory', async () => {
    await expect(commitTree(out(), files({ a: '1', 'a/b': '2' }))).rejects.toMatchObject({ code: 'EGENERATOR' });
  });

  it('moves staged files into place', async () => {
    const staged = path.join(tmp(), 'staged.txt');
    writeFileSync(staged, 'from staging');
    await commitTree(out(), [{ path: 'deep/s.txt', source: { stagedPath: staged } }]);
    expect(read('deep/s.txt')).toBe('from staging');
    expect(existsSync(staged)).toBe(false);
  });
});

describe('commitTree with a tempDir', () => {
  const tmp = useTempDir();

  async function namesSeenInOutDir(tempDir?: string): Promise<string[]> {
    const out = path.join(tmp(), tempDir ? 'out-with' : 'out-without');
    mkdirSync(out);
    const seen: string[] = [];
    const watcher = watch(out, (_event, name) => name && seen.push(String(name)));
    await commitTree(out, files({ 'a.txt': 'A', 'b.txt': 'B' }), { tempDir });
    await sleep(50);
    watcher.close();
    expect(readdirSync(out).sort()).toEqual(['a.txt', 'b.txt']);
    return seen;
  }

  it('never lets a temp file appear in outDir, so a snapshot of outDir cannot capture one', async () => {
    const tempDir = path.join(tmp(), 'stage');
    mkdirSync(tempDir);
    expect((await namesSeenInOutDir(tempDir)).filter((n) => n.includes('.lstmp-'))).toEqual([]);
    expect(readdirSync(tempDir)).toEqual([]);
    // Without a tempDir the temp siblings do show up: the watch above can see them.
    expect((await namesSeenInOutDir()).filter((n) => n.includes('.lstmp-')).length).toBeGreaterThan(0);
  });
});

describe('commitTree file modes', () => {
  const tmp = useTempDir();
  const out = () => path.join(tmp(), 'out');
  const mode = (rel: string) => statSync(path.join(out(), rel)).mode & 0o777;

  it('gives bytes from memory the mode asked for, exactly (not masked by the umask), and 0644-less-umask without one', async () => {
    const old = process.umask(0o077);
    try {
      await commitTree(out(), [
        { path: 'bin/run.sh', source: { data: '#!/bin/sh\necho hi\n' }, mode: 0o755 },
        { path: 'plain.txt', source: { data: 'p' } },
      ]);
    } finally {
      process.umask(old);
    }
    expect(mode('bin/run.sh')).toBe(0o755);
    expect(mode('plain.txt')).toBe(0o600);
  });

  it('changes only the mode of a file whose bytes are the same (chmod in place, counted as written), and leaves a file with neither change alone', async () => {
    await commitTree(out(), [{ path: 'a.sh', source: { data: 'x' }, mode: 0o644 }, { path: 'b.sh', source: { data: 'y' }, mode: 0o755 }]);
    const inode = statSync(path.join(out(), 'a.sh')).ino;
    const stats = await commitTree(out(), [{ path: 'a.sh', source: { data: 'x' }, mode: 0o755 }, { path: 'b.sh', source: { data: 'y' }, mode: 0o755 }]);
    expect(stats).toMatchObject({ written: 1, unchanged: 1 });
    expect(mode('a.sh')).toBe(0o755);
    expect(statSync(path.join(out(), 'a.sh')).ino).toBe(inode);
  });

  it('a copied file keeps its source\'s mode and the source stays; an unchanged copy whose mode differs is chmod-ed', async () => {
    const src = path.join(tmp(), 'stash');
    mkdirSync(src);
    writeFileSync(path.join(src, 'tool'), '#!/bin/sh\n');
    chmodSync(path.join(src, 'tool'), 0o750);
    expect(await commitTree(out(), [{ path: 'tool', source: { copyFrom: path.join(src, 'tool') } }])).toMatchObject({ written: 1 });
    expect(mode('tool')).toBe(0o750);
    expect(readFileSync(path.join(src, 'tool'), 'utf8')).toBe('#!/bin/sh\n');
    chmodSync(path.join(src, 'tool'), 0o755);
    expect(await commitTree(out(), [{ path: 'tool', source: { copyFrom: path.join(src, 'tool') } }])).toMatchObject({ written: 1, unchanged: 0 });
    expect(mode('tool')).toBe(0o755);
    expect(await commitTree(out(), [{ path: 'tool', source: { copyFrom: path.join(src, 'tool') } }])).toMatchObject({ written: 0, unchanged: 1 });
  });
});
