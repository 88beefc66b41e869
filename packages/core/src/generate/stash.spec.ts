import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';
import { expectLockstepError } from '../test-utils/lockstep-error';
import { useTempDir } from '../test-utils/temp-dir';
import { acquireLock } from '../lock/lock';
import { readLockStatus } from '../lock/status';
import { GenerateContext } from './run-generate';
import { STASH_INDEX, defaultStashDir, runHoldStep, runStashStep, runSyncStep } from './stash';

describe('cached generate steps (hold, stash, sync)', () => {
  const tmp = useTempDir();
  const env = (files: Record<string, string>, modes: Record<string, number> = {}) => {
    const lockDir = path.join(tmp(), 'locks');
    mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    return {
      lockDir,
      stateDir: path.join(tmp(), 'state'),
      workspaceRoot: tmp(),
      outDir: path.join(tmp(), 'dist', 'gen'),
      stashDir: path.join(tmp(), 'dist', '.gen.lockstep-stash'),
      runPid: process.pid,
      producer: {
        kind: 'function' as const,
        name: 'gen',
        generate: (ctx: GenerateContext) => {
          for (const [rel, data] of Object.entries(files)) ctx.emit(rel, data, { mode: modes[rel] });
        },
      },
    };
  };
  const tree = (dir: string) => {
    const out: Record<string, string> = {};
    const walk = (abs: string, rel: string) => {
      for (const entry of readdirSync(abs, { withFileTypes: true })) {
        const r = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(path.join(abs, entry.name), r);
        else out[r] = readFileSync(path.join(abs, entry.name), 'utf8');
      }
    };
    if (existsSync(dir)) walk(dir, '');
    return out;
  };

  it('defaultStashDir is a hidden sibling of outDir', () => {
    expect(defaultStashDir('dist/generated/api')).toBe('dist/generated/.api.lockstep-stash');
    expect(defaultStashDir('gen/')).toBe('.gen.lockstep-stash');
  });

  it('stash then sync: outDir gets the files and modes, the stash keeps them with an index naming the task hash, and the run hold is gone after the sync', async () => {
    const e = env({ 'a.txt': 'A', 'bin/run.sh': '#!/bin/sh\n' }, { 'bin/run.sh': 0o755 });
    await runHoldStep(e);
    expect(readLockStatus(`path:${e.outDir}`, { lockDir: e.lockDir }).holder?.pid).toBe(process.pid);
    const stash = await runStashStep({ ...e, taskHash: 'h1' });
    expect(stash).toMatchObject({ files: 2 });
    expect(tree(e.outDir)).toEqual({});
    expect(JSON.parse(readFileSync(path.join(e.stashDir, STASH_INDEX), 'utf8'))).toEqual({
      schema_version: 1,
      taskHash: 'h1',
      files: [
        { path: 'a.txt', size: 1, mode: 0o644 },
        { path: 'bin/run.sh', size: 10, mode: 0o755 },
      ],
    });
    // Still held between the tasks of the run.
    expect(readLockStatus(`path:${e.outDir}`, { lockDir: e.lockDir }).state).toBe('alive');

    const sync = await runSyncStep({ ...e, expectedHash: 'h1' });
    expect(sync.stats).toMatchObject({ written: 2, unchanged: 0 });
    expect(tree(e.outDir)).toEqual({ 'a.txt': 'A', 'bin/run.sh': '#!/bin/sh\n' });
    expect(statSync(path.join(e.outDir, 'bin/run.sh')).mode & 0o777).toBe(0o755);
    expect(readLockStatus(`path:${e.outDir}`, { lockDir: e.lockDir }).state).toBe('free');
    // The stash stays as it was (copied, not consumed).
    expect(tree(e.stashDir)).toMatchObject({ 'a.txt': 'A', 'bin/run.sh': '#!/bin/sh\n' });
  });

  it('a sync of an unchanged stash writes nothing; a restored stash of an older generation is synced and its files are recorded, so the next generation prunes them', async () => {
    const first = env({ 'a.txt': 'A1', 'old.txt': 'O' });
    await runStashStep({ ...first, taskHash: 'h1' });
    await runSyncStep(first);
    const saved = path.join(tmp(), 'entry-h1');
    cpSync(first.stashDir, saved, { recursive: true });
    expect((await runSyncStep(first)).stats).toMatchObject({ written: 0, unchanged: 2 });

    const second = env({ 'a.txt': 'A2' });
    await runStashStep({ ...second, taskHash: 'h2' });
    expect((await runSyncStep(second)).stats).toMatchObject({ written: 1, pruned: 1 });
    expect(tree(second.outDir)).toEqual({ 'a.txt': 'A2' });

    // What an Nx cache hit of h1 does to the stash: delete it, copy the entry in. With a new file…
    rmSync(first.stashDir, { recursive: true });
    cpSync(saved, first.stashDir, { recursive: true });
    expect((await runSyncStep({ ...first, expectedHash: 'h1' })).stats).toMatchObject({ written: 2, pruned: 0 });
    expect(tree(first.outDir)).toEqual({ 'a.txt': 'A1', 'old.txt': 'O' });
    // …old.txt came from the cache, not from a generator in this run: it is still ours to prune.
    await runStashStep(second);
    expect((await runSyncStep(second)).stats).toMatchObject({ written: 1, pruned: 1, left: [] });
    expect(tree(second.outDir)).toEqual({ 'a.txt': 'A2' });
  });

  it('keeps the mode of the index when a restore dropped an exec bit', async () => {
    const e = env({ 'run.sh': 'x' }, { 'run.sh': 0o755 });
    await runStashStep(e);
    chmodSync(path.join(e.stashDir, 'run.sh'), 0o644);
    await runSyncStep(e);
    expect(statSync(path.join(e.outDir, 'run.sh')).mode & 0o777).toBe(0o755);
  });

  it.each([
    ['another task hash', (e: ReturnType<typeof env>) => ({ ...e, expectedHash: 'other' }), /holds the generation of task hash h1, not other/],
    ['a missing file', (e: ReturnType<typeof env>) => (rmSync(path.join(e.stashDir, 'a.txt')), e), /a\.txt is missing/],
    ['a file of another size', (e: ReturnType<typeof env>) => (writeFileSync(path.join(e.stashDir, 'a.txt'), 'longer'), e), /a\.txt has 6 bytes, not 1/],
    ['a file not in the index', (e: ReturnType<typeof env>) => (writeFileSync(path.join(e.stashDir, 'x.txt'), 'x'), e), /x\.txt is not in the index/],
    ['no index', (e: ReturnType<typeof env>) => (rmSync(path.join(e.stashDir, STASH_INDEX)), e), /has no \.lockstep-stash\.json/],
  ])('refuses a stash with %s (ESTASH), leaves outDir as it was and releases the hold', async (_what, spoil, message) => {
    const e = env({ 'a.txt': 'A' });
    await runStashStep({ ...e, taskHash: 'h1' });
    mkdirSync(e.outDir, { recursive: true });
    writeFileSync(path.join(e.outDir, 'before.txt'), 'before');
    expect((await expectLockstepError(runSyncStep(spoil(e)), 'ESTASH', message)).hint).toMatch(/--skip-nx-cache/);
    expect(tree(e.outDir)).toEqual({ 'before.txt': 'before' });
    expect(readLockStatus(`path:${e.outDir}`, { lockDir: e.lockDir }).state).toBe('free');
  });

  it('another run waits for the hold of a run until its sync, in arrival order', async () => {
    const e = env({ 'a.txt': 'A' });
    await runHoldStep(e);
    // Another run: a non-shared acquire stands for it (its root pid would differ).
    const other = acquireLock(`path:${e.outDir}`, { lockDir: e.lockDir, timeoutMs: 20_000 });
    let otherHas = false;
    void other.then(() => (otherHas = true));
    await runStashStep(e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(otherHas).toBe(false);
    await runSyncStep(e);
    await (await other).release();
    expect(otherHas).toBe(true);
  });
});
