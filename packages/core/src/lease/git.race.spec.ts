import { spawn } from 'child_process';
import { mkdirSync, readdirSync } from 'fs';
import * as path from 'path';
import { assertFreshDist } from '../test-utils/fresh-dist';
import { useTempDir } from '../test-utils/temp-dir';
import { waitFor } from '../test-utils/wait-for';
import { Worker } from '../test-utils/workers';
import type { GitLeaseWorker } from '../test-utils/worker-protocol';
import { sleep } from '../util/sleep';
import { git, leaseRecord, leaseRef, makeRemoteAndClones, plantLease, remoteLeases } from './__fixtures__/git-repos';
import { GitLeaseBackend } from './git';
import { parseResource } from './resource';

// Real processes, each in its own clone of one bare remote, standing for CI
// machines racing through `git push --force-with-lease`. The fixtures load
// packages/core/dist: run `npx tsc -b packages/core` before jest.
//
// Checked by hand that these tests can fail: with the compare-and-swap taken
// out of GitLeaseBackend.push (`--force` instead of `--force-with-lease=…`),
// the exclusion test reports violations (two holders inside at once) within
// the first rounds and the takeover test sees several winners per round.
const WORKER = path.join(__dirname, '__fixtures__', 'git-lease-worker.js');
const HOLDER = path.join(__dirname, '__fixtures__', 'git-lease-holder.js');
// Waits for a process to get somewhere: generous for a busy 2-core machine, and below the tests' own timeouts.
const WAIT_MS = 60_000;

// The processes it starts load packages/core/dist: a stale build fails here, not silently.
beforeAll(() => assertFreshDist(), 60_000); // runs tsc -b --dry

describe('git leases under real process races', () => {
  const tmp = useTempDir('lockstep-git-race-');

  it('four clones racing for one lease over 50 rounds never hold it twice (200 acquisitions)', async () => {
    const { clones, remote } = makeRemoteAndClones(tmp(), 4);
    const markerDir = path.join(tmp(), 'markers');
    mkdirSync(markerDir);
    const workers = clones.map((clone) => new Worker<GitLeaseWorker>(WORKER, [clone]));
    await Promise.all(workers.map((w) => w.whenReady()));
    try {
      let violations = 0;
      let acquisitions = 0;
      const failures: unknown[] = [];
      for (let round = 0; round < 50; round++) {
        const results = await Promise.all(
          workers.map((w, i) =>
            w.request({ op: 'acquire', id: i, resource: 'group:release', owner: `machine-${i}`, ttlMs: 60_000, waitMs: 30_000, pollMs: 15, holdMs: 10, markerDir }),
          ),
        );
        for (const r of results) {
          if (r.violation) violations++;
          if (r.ok && r.released && !r.renewed) acquisitions++;
          else failures.push({ round, ...r });
        }
      }
      expect(violations).toBe(0);
      expect(failures).toEqual([]);
      expect(acquisitions).toBe(200);
      expect(readdirSync(markerDir)).toEqual([]);
      expect(remoteLeases(remote).size).toBe(0);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    // ~20 s on an idle machine: 200 acquisitions, each a few git processes
  }, 240_000);

  it('an expired lease is taken over exactly once by four racing observers (12 rounds)', async () => {
    const { clones, remote } = makeRemoteAndClones(tmp(), 4);
    const workers = clones.map((clone) => new Worker<GitLeaseWorker>(WORKER, [clone]));
    await Promise.all(workers.map((w) => w.whenReady()));
    const resource = 'package:@acme/expired';
    try {
      const summary: { winners: number; tookOver: number; lostTo: (string | undefined)[] }[] = [];
      for (let round = 0; round < 12; round++) {
        // A holder that died: its lease stays on the remote, never renewed.
        plantLease(remote, leaseRecord(resource, 'dead-machine', 150));
        const results = await Promise.all(
          workers.map((w, i) =>
            w.request({ op: 'takeover', id: i, resource, owner: `observer-${i}`, deadOwner: 'dead-machine', ttlMs: 60_000, marginMs: 100, pollMs: 20, waitMs: 30_000 }),
          ),
        );
        for (const r of results) expect(r).toMatchObject({ ok: true });
        const ref = leaseRef(resource);
        const holder = JSON.parse(git(remote, 'log', '-1', '--format=%B', remoteLeases(remote).get(ref)!)).owner;
        summary.push({
          winners: results.filter((r) => r.won).length,
          tookOver: results.filter((r) => r.tookOver === 'dead-machine').length,
          // Every loser saw the one lease now on the remote.
          lostTo: results.filter((r) => !r.won).map((r) => (r.holder === holder ? undefined : r.holder)),
        });
        // Clear the winner's lease for the next round.
        git(remote, 'update-ref', '-d', ref);
      }
      expect(summary).toEqual(Array.from({ length: 12 }, () => ({ winners: 1, tookOver: 1, lostTo: [undefined, undefined, undefined] })));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 120_000);

  it("a SIGKILLed holder's lease is refused while fresh and taken over after ttl + margin (3 rounds)", async () => {
    // clones 0-2: one holder machine per round (a git process killed in the middle may leave a
    // lock file in its clone); 3: an observer that watches the live holder; 4: one that looks only
    // once the holder is dead.
    const { clones } = makeRemoteAndClones(tmp(), 5);
    // ttl + margin (4 s) is sized for a busy 2-core machine: the live holder renews (every renewMs,
    // plus the git processes of a renew) well within it.
    const ttlMs = 3_000;
    const marginMs = 1_000;
    const renewMs = 100;
    const resource = parseResource('repo:main');
    const observer = new GitLeaseBackend({ cwd: clones[3], marginMs, pollMs: 25 });
    const late = new GitLeaseBackend({ cwd: clones[4], marginMs, pollMs: 25 });
    for (let round = 0; round < 3; round++) {
      // A process group of its own: killed together with the git processes it started (as when its
      // machine dies), so that nothing changes its lease on the remote once the group is gone.
      const holder = spawn(process.execPath, [HOLDER, clones[round], 'repo:main', `holder-${round}`, String(ttlMs), String(renewMs)], {
        stdio: ['ignore', 'pipe', 'inherit'],
        detached: true,
      });
      let out = '';
      holder.stdout!.on('data', (d) => (out += d));
      const exited = new Promise((r) => holder.once('close', r)); // after all its output
      const groupAlive = () => {
        try {
          process.kill(-holder.pid!, 0);
          return true;
        } catch {
          return false;
        }
      };
      const killGroup = () => {
        try {
          process.kill(-holder.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      try {
        await waitFor(
          () => {
            if (out.includes('failed')) throw new Error(`holder-${round} failed: ${out}`);
            return out.includes('acquired');
          },
          { timeoutMs: WAIT_MS, what: () => `holder-${round} to acquire; its output: ${out}` },
        );
        // Alive and renewing: refused even after more than ttl + margin since we first looked.
        await observer.status();
        await sleep(ttlMs + marginMs + 300);
        await expect(observer.acquire(resource, { owner: 'observer', ttlMs: 30_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
        expect(out).toMatch(/renewed \d+/);
        await sleep(Math.random() * renewMs);
        killGroup();
        await exited;
        await waitFor(() => !groupAlive(), { timeoutMs: WAIT_MS, what: `the processes of holder-${round} to be gone` });
        // Just killed: its last version is fresh. The late observer sees that version for the first
        // time now, so it has seen it for no longer than one acquire takes, however long the kill took.
        await expect(late.acquire(resource, { owner: 'observer', ttlMs: 30_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
        // Once it has seen it unchanged for ttl + margin, the very next try takes it over: no later
        // (this replaces a bound on the time from kill to takeover, which a busy machine can exceed).
        await sleep(ttlMs + marginMs);
        const got = await late.acquire(resource, { owner: 'observer', ttlMs: 30_000 });
        const tookOverAt = Date.now();
        expect(got.tookOver).toMatchObject({ owner: `holder-${round}`, expired: true });
        // The version left on the remote is the result of the last write the holder started, or
        // (if that one never landed) of the one before: it landed after the second-to-last start.
        // We cannot have seen it before then, and must have seen it unchanged for ttl + margin.
        const starts = [...out.matchAll(/^start (\d+)$/gm)].map((m) => Number(m[1]));
        expect(starts.length).toBeGreaterThanOrEqual(3);
        expect(tookOverAt).toBeGreaterThanOrEqual(starts[starts.length - 2] + ttlMs + marginMs);
        await late.release(resource, { owner: 'observer' });
      } finally {
        killGroup();
      }
    }
  }, 180_000);
});
