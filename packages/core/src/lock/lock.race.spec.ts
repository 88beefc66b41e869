import { execFileSync, spawn } from 'child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';
import { assertFreshDist } from '../test-utils/fresh-dist';
import { Worker } from '../test-utils/workers';
import type { LockWorker } from '../test-utils/worker-protocol';
import { useTempDir } from '../test-utils/temp-dir';
import { waitFor } from '../test-utils/wait-for';
import { sleep } from '../util/sleep';
import { mutexPaths, ensureMutexDirs, placeEntry } from './mutex';
import { makeOwner } from './owner';
import { systemProcessProbe } from './process-probe';
import { readLockStatus } from './status';

// Real processes racing on real directories. The fixtures load packages/core/dist
// (built by `npm test` before jest runs).
const WORKER = path.join(__dirname, '__fixtures__', 'lock-worker.js');
const HOLDER = path.join(__dirname, '__fixtures__', 'hold-and-report.js');

// The processes it starts load packages/core/dist: a stale build fails here, not silently.
beforeAll(() => assertFreshDist());
// Waits for a process to get somewhere: generous for a busy 2-core machine, and below the tests' own timeouts.
const WAIT_MS = 30_000;

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
    const workers = Array.from({ length: 8 }, () => new Worker<LockWorker>(WORKER));
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
  }, 240_000);

  it('admits five waiters queued in a known order in that order', async () => {
    const lockDir = path.join(tmp(), 'locks');
    const markerDir = path.join(tmp(), 'markers');
    mkdirSync(lockDir, { mode: 0o700 });
    mkdirSync(markerDir);
    const key = 'path:/race/fifo';
    const workers = Array.from({ length: 6 }, () => new Worker<LockWorker>(WORKER));
    await Promise.all(workers.map((w) => w.whenReady()));
    try {
      // Worker 0 holds until 1..5 have queued up, one after the other, in that order.
      const releaseFile = path.join(tmp(), 'release-first');
      const first = workers[0].request({ op: 'acquire', id: 0, key, lockDir, markerDir, holdMs: 0, releaseFile, order: true });
      await waitFor(() => readLockStatus(key, { lockDir }).holder, { timeoutMs: WAIT_MS, what: 'worker 0 to hold the lock' });
      const rest: Promise<any>[] = [];
      for (let id = 1; id < 6; id++) {
        rest.push(workers[id].request({ op: 'acquire', id, key, lockDir, markerDir, holdMs: 5, order: true, timeoutMs: 60_000 }));
        await waitFor(() => readLockStatus(key, { lockDir }).queue.length === id, { timeoutMs: WAIT_MS, what: `worker ${id}'s ticket in the queue` });
      }
      writeFileSync(releaseFile, '');
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
    const waiter = new Worker<LockWorker>(WORKER);
    try {
      for (let round = 0; round < 20; round++) {
        const holder = spawn(process.execPath, [HOLDER, key, lockDir, 'forever'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        holder.stdout!.on('data', (d) => (out += d));
        await waitFor(() => out.includes('acquired'), { timeoutMs: WAIT_MS, what: `the holder of round ${round} to acquire` });
        // The stale window is 60 s and the waiter gives up after 30 s: only the pid probe can explain a takeover.
        const waiting = waiter.request({ op: 'acquire', id: round, key, lockDir, markerDir, staleMs: 60_000, timeoutMs: 30_000 });
        await sleep(Math.random() * 50);
        holder.kill('SIGKILL');
        const result = await waiting;
        expect(result).toMatchObject({ ok: true, violation: false });
      }
    } finally {
      await waiter.stop();
    }
  }, 180_000);

  it('reports a holder whose event loop stalled past the stale window as compromised instead of crashing', async () => {
    const lockDir = path.join(tmp(), 'locks');
    mkdirSync(lockDir, { mode: 0o700 });
    const markerDir = path.join(tmp(), 'markers');
    mkdirSync(markerDir);
    const key = 'path:/race/stall';
    // The waiter is up before the holder starts: its start-up must not eat into the stall.
    const waiter = new Worker<LockWorker>(WORKER);
    await waiter.whenReady();
    // Stale after 400 ms, stalled for 3 s: the waiter has that long to take over, and holds past the stall's end.
    const holder = spawn(process.execPath, [HOLDER, key, lockDir, 'stall', '400', '3000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    holder.stdout!.on('data', (d) => (out += d));
    holder.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => holder.on('exit', (code) => r(code)));
    try {
      await waitFor(() => out.includes('acquired'), { timeoutMs: WAIT_MS, what: () => `the stalling holder to acquire; its output: ${out}` });
      // While the holder is stalled, another process takes the stale lock over.
      const taken = await waiter.request({ op: 'acquire', id: 1, key, lockDir, markerDir, staleMs: 400, holdMs: 4000, timeoutMs: 10_000 });
      expect(taken).toMatchObject({ ok: true });
      expect(await exited).toBe(0);
      expect(out).toContain('compromised ELOCKCOMPROMISED');
      expect(out).toContain('after-stall compromised=true aborted=true');
      // A compromised holder must not remove the lock it lost.
      expect(out).toContain('release=false');
    } finally {
      holder.kill('SIGKILL');
      await waiter.stop();
    }
  }, 60_000);
});

describe('a queued waiter and termination signals', () => {
  const tmp = useTempDir();

  it('leaves the queue and stops waiting on SIGTERM even when the program handles SIGTERM itself', async () => {
    const lockDir = path.join(tmp(), 'locks');
    mkdirSync(lockDir, { mode: 0o700 });
    const key = 'group:publish';
    const { acquireLock } = require('./lock');
    const holder = await acquireLock(key, { lockDir });
    const waiter = spawn(process.execPath, [path.join(__dirname, '__fixtures__', 'queue-then-sigterm.js'), key, lockDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    waiter.stdout!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => waiter.on('exit', (code) => r(code)));
    await waitFor(() => out.includes('queued'), { timeoutMs: WAIT_MS, what: () => `the waiter to say it is queued; its output: ${out}` });
    expect(readLockStatus(key, { lockDir }).queue).toHaveLength(1);
    waiter.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('aborted EABORTED');
    expect(out).toContain('app handler ran');
    expect(out).not.toContain('acquired');
    expect(readLockStatus(key, { lockDir }).queue).toEqual([]);
    await holder.release();
  }, 60_000);
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
