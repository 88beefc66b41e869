import { LeaseBackend, LeaseView } from '../lease/types';
import { LockstepError } from '../errors';
import { parseResource } from '../lease/resource';
import { performance } from 'perf_hooks';
import { LeaseKeeper, runIsGone, runOwner } from './git-release-lock';

// The keeper against a fake backend (unit level; the real git backend is in core's specs and e2e).
const resource = parseResource('group:publish');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeBackend(renew: () => Promise<LeaseView>): { backend: LeaseBackend; calls: () => number } {
  let calls = 0;
  const backend = {
    kind: 'git',
    renew: () => {
      calls++;
      return renew();
    },
  } as unknown as LeaseBackend;
  return { backend, calls: () => calls };
}

describe('LeaseKeeper', () => {
  const keepers: LeaseKeeper[] = [];
  afterEach(async () => {
    for (const k of keepers.splice(0)) await k.stop();
  });
  const keep = (backend: LeaseBackend, ttlMs: number, lines: string[]) => {
    const k = new LeaseKeeper(backend, resource, 'run:x', ttlMs, (l) => lines.push(l), performance.now());
    keepers.push(k);
    return k;
  };

  it('stays valid while renews succeed (ttl 3 s, renewed every 1 s, watched for 4 s)', async () => {
    const { backend, calls } = fakeBackend(async () => ({}) as LeaseView);
    const lines: string[] = [];
    const k = keep(backend, 3000, lines);
    await sleep(4000);
    expect(k.lost()).toBeUndefined();
    expect(calls()).toBeGreaterThanOrEqual(3);
    expect(lines).toEqual([]);
  });

  it('is lost when the renew keeps failing with EGIT, before the TTL runs out (not at the first failure)', async () => {
    const { backend } = fakeBackend(async () => {
      throw new LockstepError('EGIT', 'git push did not finish within 1 s and was stopped.');
    });
    const lines: string[] = [];
    const k = keep(backend, 3000, lines);
    await sleep(1500);
    expect(k.lost()).toBeUndefined();
    expect(lines[0]).toMatch(/Renewing the lease on group:publish failed \(git push did not finish.*\); trying again\./);
    await sleep(1300);
    expect(k.lost()).toMatchObject({ code: 'ELOCKCOMPROMISED', message: expect.stringMatching(/was not renewed in time/) });
  });

  it('is lost at once when the lease is no longer the run\'s (ELEASENOTOWNER)', async () => {
    const { backend } = fakeBackend(async () => {
      throw new LockstepError('ELEASENOTOWNER', 'held by run:other');
    });
    const lines: string[] = [];
    const k = keep(backend, 3000, lines);
    await sleep(1200);
    expect(k.lost()).toMatchObject({ code: 'ELOCKCOMPROMISED', message: expect.stringMatching(/no longer this run's: held by run:other/) });
    expect(lines.some((l) => l.startsWith('!!! '))).toBe(true);
  });
});

describe('run owners', () => {
  it('name host, pid namespace, pid and start time; a live run is not gone, a dead pid is', () => {
    const mine = runOwner(process.pid);
    expect(mine).toMatch(/^run:.+:\d+:\d+:\d+$/);
    expect(runIsGone(mine)).toBe(false);
    expect(runIsGone(mine.replace(/:(\d+):(\d+)$/, ':999999999:$2'))).toBe(true);
    // another host, or another pid namespace: never judged from here
    expect(runIsGone(mine.replace(/^run:[^:]+/, 'run:elsewhere').replace(/:(\d+):(\d+)$/, ':999999999:$2'))).toBe(false);
    expect(runIsGone(mine.replace(/^(run:[^:]+):\d+/, '$1:1').replace(/:(\d+):(\d+)$/, ':999999999:$2'))).toBe(false);
  });
});
