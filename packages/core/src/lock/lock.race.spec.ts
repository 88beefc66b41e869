import { execFileSync, spawn } from 'child_process';
import { mkdirSync, readFileSync, utimesSync } from 'fs';
import * as path from 'path';
import { Worker } from '../test-utils/workers';
import { useTempDir } from '../test-utils/temp-dir';
import { mutexPaths, ensureMutexDirs, placeEntry } from './mutex';
import { makeOwner } from './owner';
import { systemProcessProbe } from './process-probe';

// Real processes racing on real directories. The fixtures load packages/core/dist
// (built by `npm test` before jest runs).
const WORKER = path.join(__dirname, '__fixtures__', 'lock-worker.js');
const HOLDER = path.join(__dirname, '__fixtures__', 'hold-and-report.js');

function deadPid(): number {
  const out = execFileSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(out.trim());
}

describe('lock under real process races', () => {
  const tmp = useTempDir();

  it('8 processes racing to reclaim an abandoned lock never hold it twice (100 rounds: dead, stale and foreign holders)', async () => {
    const lockDir = path.join(tmp(), 'locks');
    const markerDir = path.join(tmp(), 'markers');
    mkdirSync(lockDir, { mode: 0o700 });
    mkdirSync(markerDir);
    const key = 'path:/race/reclaim';
    const paths = mutexPaths(lockDir, key);
    ensureMutexDirs(paths, key);
    const workers = Array.from({ length: 8 }, () => new Worker(WORKER));
    const dead = deadPid();
    try {
      let violations = 0;
      let acquisitions = 0;
      for (let round = 0; round < 100; round++) {
        const kind = round % 3;
        const owner = makeOwner(key, systemProcessProbe, kind === 0 ? dead : process.pid, 'abandoned');
        if (kind === 2) owner.hostname = 'another-host';
        if (kind === 0) owner.startTime = undefined;
        expect(placeEntry(paths.base, paths.held, owner)).toBe(true);
        if (kind !== 0) {
          const old = new Date(Date.now() - 120_000);
          utimesSync(paths.held, old, old);
        }
        const results = await Promise.all(
          workers.map((w, id) => w.request({ op: 'acquire', id, key, lockDir, markerDir, staleMs: 30_000, holdMs: 1 })),
        );
        for (const r of results) {
          expect(r).toMatchObject({ ok: true, released: true });
          if (r.violation) violations++;
          acquisitions++;
        }
      }
      expect(violations).toBe(0);
      expect(acquisitions).toBe(800);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 120_000);

  it('admits five waiters queued in a known order in that order', async () => {
    const lockDir = path.join(tmp(), 'locks');
    const markerDir = path.join(tmp(), 'markers');
    mkdirSync(lockDir, { mode: 0o700 });
    mkdirSync(markerDir);
    const key = 'path:/race/fifo';
    const workers = Array.from({ length: 6 }, () => new Worker(WORKER));
    await Promise.all(workers.map((w) => w.whenReady()));
    try {
      // Worker 0 holds for a while; 1..5 queue up 60 ms apart, in that order.
      const first = workers[0].request({ op: 'acquire', id: 0, key, lockDir, markerDir, holdMs: 600, order: true });
      await new Promise((r) => setTimeout(r, 100));
      const rest: Promise<any>[] = [];
      for (let id = 1; id < 6; id++) {
        rest.push(workers[id].request({ op: 'acquire', id, key, lockDir, markerDir, holdMs: 5, order: true }));
        await new Promise((r) => setTimeout(r, 60));
      }
      const results = await Promise.all([first, ...rest]);
      expect(results.every((r) => r.ok && !r.violation)).toBe(true);
      expect(readFileSync(path.join(markerDir, 'order'), 'utf8').trim().split('\n')).toEqual(['0', '1', '2', '3', '4', '5']);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 60_000);

  it('reclaims the lock of a SIGKILLed holder at once through the pid probe (20 rounds)', async () => {
    const lockDir = path.join(tmp(), 'locks');
    const markerDir = path.join(tmp(), 'markers');
    mkdirSync(lockDir, { mode: 0o700 });
    mkdirSync(markerDir);
    const key = 'path:/race/sigkill';
    const waiter = new Worker(WORKER);
    try {
      for (let round = 0; round < 20; round++) {
        const holder = spawn(process.execPath, [HOLDER, key, lockDir, 'forever'], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((resolve) => holder.stdout!.on('data', (d) => String(d).includes('acquired') && resolve()));
        const waiting = waiter.request({ op: 'acquire', id: round, key, lockDir, markerDir, staleMs: 60_000, timeoutMs: 10_000 });
        await new Promise((r) => setTimeout(r, Math.random() * 50));
        const killedAt = Date.now();
        holder.kill('SIGKILL');
        const result = await waiting;
        expect(result).toMatchObject({ ok: true, violation: false });
        // The stale window is 60 s: only the pid probe can explain a quick takeover.
        expect(Date.now() - killedAt).toBeLessThan(5_000);
      }
    } finally {
      await waiter.stop();
    }
  }, 120_000);

  it('reports a holder whose event loop stalled past the stale window as compromised instead of crashing', async () => {
    const lockDir = path.join(tmp(), 'locks');
    mkdirSync(lockDir, { mode: 0o700 });
    const markerDir = path.join(tmp(), 'markers');
    mkdirSync(markerDir);
    const key = 'path:/race/stall';
    const holder = spawn(process.execPath, [HOLDER, key, lockDir, 'stall', '400', '1500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    holder.stdout!.on('data', (d) => (out += d));
    holder.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => holder.on('exit', (code) => r(code)));
    while (!out.includes('acquired')) await new Promise((r) => setTimeout(r, 10));
    // While the holder is stalled, another process takes the stale lock over.
    const waiter = new Worker(WORKER);
    try {
      const taken = await waiter.request({ op: 'acquire', id: 1, key, lockDir, markerDir, staleMs: 400, holdMs: 1500, timeoutMs: 10_000 });
      expect(taken).toMatchObject({ ok: true });
      expect(await exited).toBe(0);
      expect(out).toContain('compromised ELOCKCOMPROMISED');
      expect(out).toContain('after-stall compromised=true aborted=true');
      // A compromised holder must not remove the lock it lost.
      expect(out).toContain('release=false');
    } finally {
      await waiter.stop();
    }
  }, 30_000);
});

describe('a queued waiter and termination signals', () => {
  const tmp = useTempDir();

  it('leaves the queue and stops waiting on SIGTERM even when the program handles SIGTERM itself', async () => {
    const lockDir = path.join(tmp(), 'locks');
    mkdirSync(lockDir, { mode: 0o700 });
    const key = 'group:publish';
    const { acquireLock } = require('./lock');
    const { readLockStatus } = require('./status');
    const holder = await acquireLock(key, { lockDir });
    const waiter = spawn(process.execPath, [path.join(__dirname, '__fixtures__', 'queue-then-sigterm.js'), key, lockDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    waiter.stdout!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => waiter.on('exit', (code) => r(code)));
    while (!out.includes('queued')) await new Promise((r) => setTimeout(r, 10));
    expect(readLockStatus(key, { lockDir }).queue).toHaveLength(1);
    waiter.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('aborted EABORTED');
    expect(out).toContain('app handler ran');
    expect(out).not.toContain('acquired');
    expect(readLockStatus(key, { lockDir }).queue).toEqual([]);
    await holder.release();
  }, 30_000);
});

describe('lock dir', () => {
  const tmp = useTempDir();
  it('refuses a lock directory other users can write to', () => {
    const dir = path.join(tmp(), 'open');
    mkdirSync(dir, { mode: 0o777 });
    require('fs').chmodSync(dir, 0o777);
    const { resolveLockDir } = require('./lock-dir');
    expect(() => resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })).toThrow(expect.objectContaining({ code: 'ELOCKDIRUNSAFE' }));
  });
});
