import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expectLockstepError } from '../test-utils/lockstep-error';
import { useTempDir } from '../test-utils/temp-dir';
import { waitFor } from '../test-utils/wait-for';
import { git, leaseRecord, leaseRef, makeRemoteAndClones, plantLease, remoteLeases } from './__fixtures__/git-repos';
import { redactUrls } from '../util/display';
import { sleep } from '../util/sleep';
import { GitLeaseBackend, type GitLeaseBackendOptions } from './git';
import { LeaseRemote } from './git-remote';
import { parseResource } from './resource';
import type { LeaseView } from './types';

// Real git: a bare repository in a temp dir is the shared remote, and clones of
// it stand for CI machines. Everything goes through `git push`/`ls-remote`.

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const res = (raw: string) => parseResource(raw, { root: '/repo', cwd: '/repo' });

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('GitLeaseBackend', () => {
  // Every test runs git (several processes per call): generous for a loaded 2-core machine.
  jest.setTimeout(60_000);
  const tmp = useTempDir('lockstep-git-lease-');
  let shared: string;
  let remote: string;
  let clones: string[];
  // minTtlMs: 1, so that expiry can be seen with TTLs of a few hundred ms.
  const backend = (i: number, extra: Partial<GitLeaseBackendOptions> = {}) => new GitLeaseBackend({ cwd: clones[i], pollMs: 30, minTtlMs: 1, ...extra });

  // One remote and three clones for the file (making them costs ~200 ms); every test starts
  // from no leases on the remote and no observations in the clones.
  beforeAll(() => {
    shared = mkdtempSync(path.join(os.tmpdir(), 'lockstep-git-lease-repos-'));
    ({ remote, clones } = makeRemoteAndClones(shared, 3));
  });
  afterAll(() => rmSync(shared, { recursive: true, force: true }));
  beforeEach(() => {
    for (const ref of remoteLeases(remote).keys()) git(remote, 'update-ref', '-d', ref);
    for (const clone of clones) {
      rmSync(path.join(clone, '.git', 'lockstep'), { recursive: true, force: true });
      if (git(clone, 'remote').split('\n').includes('creds')) git(clone, 'remote', 'remove', 'creds');
    }
  });

  it('acquire, status, renew, release and gc round trip; the ref holds a parentless commit on the empty tree whose message is the record', async () => {
    const a = backend(0);
    const b = backend(1);
    const r = res('package:@acme/api');
    const got = await a.acquire(r, { owner: 'alice', ttlMs: 30_000 });
    expect(got.renewed).toBe(false);
    expect(got.tookOver).toBeUndefined();
    expect(got.waitedMs).toBeGreaterThanOrEqual(0);
    expect(got.lease).toEqual({
      schema_version: 1,
      resource: 'package:@acme/api',
      owner: 'alice',
      nonce: expect.stringMatching(/^[0-9a-f]{32}$/),
      ttlMs: 30_000,
      acquiredAt: expect.any(String),
      renewedAt: got.lease.acquiredAt,
      hostname: os.hostname(),
      pid: process.pid,
      backend: 'git',
      expired: false,
      remainingMs: expect.any(Number),
    });
    expect(Date.parse(got.lease.acquiredAt)).not.toBeNaN();
    // The holder's own view counts from before its push: ttl + default margin (max(1 s, ttl/10) = 3 s).
    expect(got.lease.remainingMs).toBeLessThanOrEqual(33_000);
    expect(got.lease.remainingMs).toBeGreaterThan(30_000);

    const ref = leaseRef('package:@acme/api');
    expect(ref).toMatch(/^refs\/lockstep\/locks\/[0-9a-f]{64}$/);
    const leases = remoteLeases(remote);
    expect([...leases.keys()]).toEqual([ref]);
    const oid1 = leases.get(ref)!;
    const body = git(remote, 'cat-file', 'commit', oid1);
    expect(body.split('\n')[0]).toBe(`tree ${EMPTY_TREE}`);
    expect(body).not.toMatch(/^parent /m);
    const stored = JSON.parse(body.slice(body.indexOf('\n\n') + 2));
    const { backend: _b, expired: _e, remainingMs: _r, ...record } = got.lease;
    expect(stored).toEqual({ ...record, sequence: 0 });

    // Another machine: first sighting, so it cannot tell the remaining time yet; the second time it can.
    const [first] = await b.status();
    expect(first).toMatchObject({ owner: 'alice', resource: 'package:@acme/api', expired: false, backend: 'git' });
    expect(first.remainingMs).toBeUndefined();
    const [second] = await b.status(res('repo:main'));
    expect(second.remainingMs).toBeGreaterThan(30_000);
    expect(await b.status(res('package:@acme/other'))).toEqual([]);

    const renewed = await a.renew(r, { owner: 'alice', ttlMs: 60_000 });
    expect(renewed).toMatchObject({ nonce: got.lease.nonce, acquiredAt: got.lease.acquiredAt, ttlMs: 60_000, expired: false });
    const oid2 = remoteLeases(remote).get(ref)!;
    expect(oid2).not.toBe(oid1);
    const stored2 = JSON.parse(git(remote, 'log', '-1', '--format=%B', oid2));
    expect(stored2.sequence).toBe(1);

    expect(await a.gc()).toEqual({ removed: [] });
    const released = await a.release(r, { owner: 'alice' });
    expect(released.released).toBe(true);
    expect(released.lease).toMatchObject({ owner: 'alice', nonce: got.lease.nonce });
    expect(remoteLeases(remote).size).toBe(0);
    expect(await a.release(r, { owner: 'alice' })).toEqual({ released: false });
    expect(await b.status()).toEqual([]);
  });

  it('acquire by the owner that already holds the lease renews it (same nonce), also from another clone', async () => {
    const r = res('group:release');
    const first = await backend(0).acquire(r, { owner: 'ci-job-7', ttlMs: 20_000 });
    const oid1 = remoteLeases(remote).get(leaseRef(r.id));
    const again = await backend(1).acquire(r, { owner: 'ci-job-7', ttlMs: 25_000 });
    expect(again.renewed).toBe(true);
    expect(again.lease.nonce).toBe(first.lease.nonce);
    expect(again.lease.ttlMs).toBe(25_000);
    expect(remoteLeases(remote).get(leaseRef(r.id))).not.toBe(oid1);
    expect(remoteLeases(remote).size).toBe(1);
  });

  it('refuses renew and release by another owner (ELEASENOTOWNER) and leaves the lease intact', async () => {
    const r = res('package:@acme/a');
    await backend(0).acquire(r, { owner: 'alice', ttlMs: 30_000 });
    const before = remoteLeases(remote).get(leaseRef(r.id));
    const b = backend(1);
    // the same words as the local backend's (lease/errors.ts)
    await expectLockstepError(b.renew(r, { owner: 'bob' }), 'ELEASENOTOWNER', /^Cannot renew the lease on package:@acme\/a: it is held by alice .*, not by bob\.$/);
    await expectLockstepError(b.release(r, { owner: 'bob' }), 'ELEASENOTOWNER', /^Cannot release the lease on package:@acme\/a: it is held by alice /);
    expect(remoteLeases(remote).get(leaseRef(r.id))).toBe(before);
    // The same clone that acquired is refused too: ownership is the owner name, not the machine.
    await expect(backend(0).release(r, { owner: 'mallory' })).rejects.toMatchObject({ code: 'ELEASENOTOWNER' });
    expect(remoteLeases(remote).get(leaseRef(r.id))).toBe(before);
  });

  it('renew of a lease nobody holds is ELEASENOTHELD; release of it is { released: false }', async () => {
    const r = res('package:@acme/none');
    const err = await expectLockstepError(backend(0).renew(r, { owner: 'alice' }), 'ELEASENOTHELD', 'Nobody holds a lease on package:@acme/none');
    expect(err.hint).toContain('Acquire it again');
    expect(await backend(0).release(r, { owner: 'alice' })).toEqual({ released: false });
  });

  const cases: [string, string, boolean][] = [
    ['package:@acme/a', 'package:@acme/a', true],
    ['package:@acme/a', 'package:@acme/b', false],
    ['path:dist/app', 'path:dist/app/sub', true],
    ['path:dist/app/sub', 'path:dist/app', true],
    ['path:dist/app', 'path:dist/application', false],
    ['path:.', 'path:anything/below', true],
    ['repo:main', 'package:@acme/a', true],
    ['package:@acme/a', 'repo:main', true],
    ['repo:main', 'repo:other', true],
    ['group:release', 'package:release', false],
  ];
  it.each(cases)('across two clones: %s held, %s wanted → conflict %s', async (held, wanted, conflict) => {
    const a = backend(0);
    const b = backend(1);
    await a.acquire(res(held), { owner: 'alice', ttlMs: 30_000 });
    if (conflict) {
      const err = await rejection(b.acquire(res(wanted), { owner: 'bob', ttlMs: 30_000 }));
      expect(err.code).toBe('ELEASECONFLICT');
      expect(err.message).toContain('alice');
      expect(err.message).toContain('acquired');
      expect(err.hint).toMatch(/wait/i);
      // bob backed off: only alice's ref is left.
      expect([...remoteLeases(remote).keys()]).toEqual([leaseRef(res(held).id)]);
    } else {
      const got = await b.acquire(res(wanted), { owner: 'bob', ttlMs: 30_000 });
      expect(got.lease.owner).toBe('bob');
      expect(remoteLeases(remote).size).toBe(2);
    }
  });

  it('leases of one owner never conflict with each other', async () => {
    await backend(0).acquire(res('repo:main'), { owner: 'job', ttlMs: 30_000 });
    const got = await backend(1).acquire(res('package:@acme/a'), { owner: 'job', ttlMs: 30_000 });
    expect(got.renewed).toBe(false);
  });

  it('two conflicting acquirers racing (repo: vs package:, 10 rounds) never both hold; both may back off, waiting resolves it', async () => {
    const a = backend(0, { pollMs: 20 });
    const b = backend(1, { pollMs: 20 });
    // Try once, at the same moment: at most one wins (both backing off is allowed).
    for (let round = 0; round < 10; round++) {
      const [x, y] = await Promise.allSettled([
        a.acquire(res('repo:main'), { owner: 'alice', ttlMs: 30_000 }),
        b.acquire(res('package:@acme/a'), { owner: 'bob', ttlMs: 30_000 }),
      ]);
      for (const s of [x, y]) if (s.status === 'rejected') expect(s.reason.code).toBe('ELEASECONFLICT');
      expect(x.status === 'fulfilled' && y.status === 'fulfilled').toBe(false);
      if (x.status === 'fulfilled') await a.release(res('repo:main'), { owner: 'alice' });
      if (y.status === 'fulfilled') await b.release(res('package:@acme/a'), { owner: 'bob' });
      expect(remoteLeases(remote).size).toBe(0);
    }
    // Waiting: both get it in turn, never at the same time.
    let inside = 0;
    let overlaps = 0;
    let acquisitions = 0;
    const worker = async (x: GitLeaseBackend, raw: string, owner: string) => {
      for (let i = 0; i < 5; i++) {
        await x.acquire(res(raw), { owner, ttlMs: 30_000, waitMs: 20_000 });
        if (++inside > 1) overlaps++;
        acquisitions++;
        await sleep(10);
        inside--;
        await x.release(res(raw), { owner });
      }
    };
    await Promise.all([worker(a, 'repo:main', 'alice'), worker(b, 'package:@acme/a', 'bob')]);
    expect(overlaps).toBe(0);
    expect(acquisitions).toBe(10);
  });

  it('waitMs: acquires once the holder releases, reporting the wait through onWait', async () => {
    const r = res('package:@acme/a');
    await backend(0).acquire(r, { owner: 'alice', ttlMs: 30_000 });
    const reports: { owner: string; waitedMs: number }[] = [];
    const waiting = backend(1).acquire(r, {
      owner: 'bob',
      ttlMs: 30_000,
      waitMs: 40_000,
      waitReportMs: 100,
      onWait: (info) => reports.push({ owner: info.conflicts[0]?.owner, waitedMs: info.waitedMs }),
    });
    // alice holds for at least 400 ms, and until bob has reported twice (however slow his git is)
    await sleep(400);
    await waitFor(() => reports.length >= 2, { timeoutMs: 20_000, what: () => `two reports of the wait; got ${JSON.stringify(reports)}` });
    await backend(0).release(r, { owner: 'alice' });
    const got = await waiting;
    expect(got.lease.owner).toBe('bob');
    expect(got.tookOver).toBeUndefined();
    expect(got.waitedMs).toBeGreaterThanOrEqual(300);
    expect(reports.length).toBeGreaterThanOrEqual(2); // at the start and every 100 ms after
    expect(reports[0]).toEqual({ owner: 'alice', waitedMs: expect.any(Number) });
  });

  it('waitMs runs out with ELEASECONFLICT naming the holder; an abort signal stops the wait with EABORTED and leaves nothing behind', async () => {
    const r = res('path:dist/app');
    await backend(0).acquire(r, { owner: 'alice', ttlMs: 30_000 });
    const t0 = Date.now();
    await expectLockstepError(
      backend(1).acquire(res('path:dist'), { owner: 'bob', ttlMs: 30_000, waitMs: 300 }),
      'ELEASECONFLICT',
      /^Could not acquire path:dist after waiting (\d+ms|(\d+m)?\d+s): conflicts with path:dist\/app, held by alice .*pid \d+ on .*, acquired /,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    await expectLockstepError(backend(1).acquire(r, { owner: 'bob', ttlMs: 30_000, waitMs: 10_000, signal: controller.signal }), 'EABORTED', 'Stopped waiting for the lease on path:dist/app');
    expect([...remoteLeases(remote).keys()]).toEqual([leaseRef(r.id)]);
  });

  it('an expired lease (ttl 300 ms + margin 3 s unchanged as seen here) is taken over, not before; its old owner can then neither renew nor release', async () => {
    const r = res('package:@acme/a');
    // A margin far above the TTL: the try within it (400 ms after the first look) stays inside
    // however long git takes on a busy machine.
    const a = backend(0, { marginMs: 3_000 });
    const b = backend(1, { marginMs: 3_000 });
    await a.acquire(r, { owner: 'alice', ttlMs: 300 });
    // b sees it for the first time: fresh, whatever its age.
    await expect(b.acquire(r, { owner: 'bob', ttlMs: 30_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
    // Past the TTL but within the margin: still refused.
    await sleep(400);
    await expect(b.acquire(r, { owner: 'bob', ttlMs: 30_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
    // Unchanged for ttl + margin since b first saw it: taken over.
    await sleep(2_950);
    const got = await b.acquire(r, { owner: 'bob', ttlMs: 30_000 });
    expect(got.tookOver).toMatchObject({ owner: 'alice', expired: true, ttlMs: 300 });
    expect(got.lease.owner).toBe('bob');
    await expect(a.renew(r, { owner: 'alice' })).rejects.toMatchObject({ code: 'ELEASENOTOWNER' });
    await expect(a.release(r, { owner: 'alice' })).rejects.toMatchObject({ code: 'ELEASENOTOWNER' });
  });

  it('a holder the observer proves gone (the abandoned option) is taken over at once, by CAS; others still wait for ttl + margin', async () => {
    const r = res('group:publish');
    await backend(0).acquire(r, { owner: 'run:gone', ttlMs: 60_000 });
    await expect(backend(2).acquire(r, { owner: 'carol', ttlMs: 60_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
    const b = backend(1, { abandoned: (record) => record.owner === 'run:gone' });
    const got = await b.acquire(r, { owner: 'bob', ttlMs: 60_000 });
    expect(got.tookOver).toMatchObject({ owner: 'run:gone', expired: true });
    expect(got.lease.owner).toBe('bob');
    // bob is not abandoned: carol still cannot take it
    await expect(backend(2).acquire(r, { owner: 'carol', ttlMs: 60_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
  });

  it('an owner may renew its own expired lease as long as nobody took it over', async () => {
    const r = res('package:@acme/a');
    const a = backend(0, { marginMs: 100 });
    const got = await a.acquire(r, { owner: 'alice', ttlMs: 200 });
    await sleep(400);
    expect((await a.status())[0].expired).toBe(true);
    const renewed = await a.renew(r, { owner: 'alice' });
    expect(renewed).toMatchObject({ nonce: got.lease.nonce, expired: false });
  });

  it('judges expiry by its own monotonic observation, not wall clocks: a record from 2000 is fresh when first seen and expires ttl + margin later', async () => {
    const old = '2000-01-01T00:00:00.000Z';
    plantLease(remote, leaseRecord('package:@acme/old', 'ghost', 300, { acquiredAt: old, renewedAt: old }));
    const future = '2999-01-01T00:00:00.000Z';
    plantLease(remote, leaseRecord('package:@acme/future', 'ghost', 300, { acquiredAt: future, renewedAt: future }));
    // ttl + margin 3.3 s: the looks that must find it fresh come well within it on a busy machine
    const b = backend(1, { marginMs: 3_000 });
    const seen = await b.status();
    expect(seen.map((v) => [v.resource, v.expired, v.remainingMs])).toEqual([
      ['package:@acme/future', false, undefined],
      ['package:@acme/old', false, undefined],
    ]);
    await expect(b.acquire(res('package:@acme/old'), { owner: 'bob', ttlMs: 30_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
    const again = await b.status(res('package:@acme/old'));
    expect(again[0].remainingMs).toBeGreaterThan(0);
    expect(again[0].remainingMs).toBeLessThanOrEqual(3_300);
    await sleep(3_350);
    expect((await b.status()).map((v) => v.expired)).toEqual([true, true]);
    // A clone that never looked before judges for itself: fresh.
    expect((await backend(2, { marginMs: 3_000 }).status()).map((v) => v.expired)).toEqual([false, false]);
    const got = await b.acquire(res('package:@acme/old'), { owner: 'bob', ttlMs: 30_000 });
    expect(got.tookOver).toMatchObject({ owner: 'ghost', renewedAt: old });
  });

  it('keeps observations in the git dir for later processes of the same boot, and restarts them after a reboot (other boot id)', async () => {
    plantLease(remote, leaseRecord('group:deploy', 'ghost', 300));
    await backend(1, { marginMs: 200 }).status();
    await sleep(550);
    // A new backend (as a new process would) continues the observation from the file.
    expect((await backend(1, { marginMs: 200 }).status())[0].expired).toBe(true);
    const file = path.join(clones[1], '.git', 'lockstep', 'observed.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    expect(data.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(Object.keys(data.remotes.origin)).toEqual([leaseRef('group:deploy')]);
    writeFileSync(file, JSON.stringify({ ...data, bootId: 'another-boot' }));
    const [after] = await backend(1, { marginMs: 200 }).status();
    expect(after.expired).toBe(false);
    expect(after.remainingMs).toBeUndefined();
  });

  it('a conflicting expired lease on another resource is removed (by CAS) before it is ignored, so its holder cannot renew it later', async () => {
    // margin 1 s: b's first look, which must find it fresh, ends well within ttl + margin on a busy machine
    const a = backend(0, { marginMs: 1_000 });
    const b = backend(1, { marginMs: 1_000 });
    await a.acquire(res('package:@acme/a'), { owner: 'alice', ttlMs: 200 });
    await expect(b.acquire(res('repo:main'), { owner: 'bob', ttlMs: 30_000 })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
    await sleep(1_250);
    const got = await b.acquire(res('repo:main'), { owner: 'bob', ttlMs: 30_000 });
    expect(got.lease.owner).toBe('bob');
    expect([...remoteLeases(remote).keys()]).toEqual([leaseRef('repo:main')]);
    await expect(a.renew(res('package:@acme/a'), { owner: 'alice' })).rejects.toMatchObject({ code: 'ELEASENOTHELD' });
  });

  it('gc removes exactly the leases this observer judges expired, and not one renewed since it looked', async () => {
    plantLease(remote, leaseRecord('package:@acme/dead', 'ghost', 200));
    const a = backend(0);
    await a.acquire(res('package:@acme/live'), { owner: 'alice', ttlMs: 200 });
    const b = backend(1, { marginMs: 100 });
    await b.status();
    await sleep(350);
    // Renewed for long enough that no git slowness on a loaded machine can make the renewed lease itself expire before gc looks.
    await a.renew(res('package:@acme/live'), { owner: 'alice', ttlMs: 60_000 });
    const { removed } = await b.gc();
    expect(removed.map((v) => v.resource)).toEqual(['package:@acme/dead']);
    expect([...remoteLeases(remote).keys()]).toEqual([leaseRef('package:@acme/live')]);
  });

  it('four clones trying the same free lease at once: exactly one gets it (5 rounds)', async () => {
    const r = res('package:@acme/hot');
    const all = [backend(0), backend(1), backend(2), new GitLeaseBackend({ cwd: clones[0] })];
    for (let round = 0; round < 5; round++) {
      const settled = await Promise.allSettled(all.map((x, i) => x.acquire(r, { owner: `w${i}`, ttlMs: 30_000 })));
      const won = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const s of settled) if (s.status === 'rejected') expect(s.reason.code).toBe('ELEASECONFLICT');
      await all[won[0]].release(r, { owner: `w${won[0]}` });
    }
  });

  it('wraps git failures as EGIT with a hint and never shows credentials', async () => {
    const r = res('package:@acme/a');
    const noRemote = await rejection(backend(0, { remote: 'nope' }).acquire(r, { owner: 'a', ttlMs: 1000 }));
    expect(noRemote).toMatchObject({ code: 'EGIT', hint: expect.stringContaining('remote') });

    git(clones[0], 'remote', 'add', 'creds', 'http://user:s3cr3t-token@127.0.0.1:9/x.git');
    const creds = await rejection(backend(0, { remote: 'creds' }).status());
    expect(creds.code).toBe('EGIT');
    expect(`${creds.message} ${creds.hint}`).not.toContain('s3cr3t');
    expect(creds.hint).toBeTruthy();

    const notRepo = await rejection(new GitLeaseBackend({ cwd: tmp() }).status());
    expect(notRepo).toMatchObject({ code: 'EGIT', hint: expect.stringContaining('clone') });
    expect(() => new GitLeaseBackend({ cwd: clones[0], remote: '--upload-pack=evil' })).toThrow(expect.objectContaining({ code: 'EBADOPTIONS' }));

    expect(redactUrls("fatal: unable to access 'https://me:ghp_abc123@github.com/o/r.git/': 403")).toBe(
      "fatal: unable to access 'https://***@github.com/o/r.git/': 403",
    );
  });

  it('a record from the remote with an insane ttl counts as expired (unsound) at once: status says so, acquire takes it over, gc removes it', async () => {
    plantLease(remote, leaseRecord('package:@acme/forever', 'evil\x1b[2J', 3.6e29));
    plantLease(remote, leaseRecord('package:@acme/zero', 'z', 0));
    const b = backend(1);
    const views = await b.status();
    expect(views.map((v) => [v.resource, v.expired, v.remainingMs, typeof v.unsound])).toEqual([
      ['package:@acme/forever', true, 0, 'string'],
      ['package:@acme/zero', true, 0, 'string'],
    ]);
    const got = await b.acquire(res('package:@acme/forever'), { owner: 'bob', ttlMs: 30_000 });
    expect(got.tookOver).toMatchObject({ owner: 'evil\x1b[2J', unsound: expect.stringContaining('3.6e+29') });
    expect((await b.gc()).removed.map((v) => v.resource)).toEqual(['package:@acme/zero']);
  });

  it('escapes control characters and cuts absurd fields of remote records in ELEASECONFLICT and ELEASENOTOWNER', async () => {
    plantLease(remote, leaseRecord('package:@acme/x', `\x1b]0;pwned\x07\x1b[2J${'A'.repeat(10_000)}`, 60_000, { hostname: 'h\u202eost\x9b', acquiredAt: '\x1b[31mred' }));
    const error = await rejection(backend(1).acquire(res('package:@acme/x'), { owner: 'bob', ttlMs: 30_000 }));
    expect(error.code).toBe('ELEASECONFLICT');
    const text = `${error.message}\n${error.hint}`;
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(text).toContain('\\u001b]0;pwned\\u0007\\u001b[2J');
    expect(text.length).toBeLessThan(2000);
    const notOwner = await rejection(backend(1).release(res('package:@acme/x'), { owner: 'bob' }));
    expect(notOwner.code).toBe('ELEASENOTOWNER');
    expect(notOwner.message).not.toMatch(/[\x1b\x07\x9b\u202e]/);
  });

  it('break deletes the lease of another owner under a lease on the oid it read; an unreadable record too; nothing there: broken false', async () => {
    const r = res('group:deploy');
    await backend(0).acquire(r, { owner: 'alice', ttlMs: 60_000 });
    const b = backend(1);
    const result = await b.break(r, { reason: 'alice is gone' });
    expect(result).toMatchObject({ broken: true, holder: { owner: 'alice', resource: 'group:deploy', backend: 'git' } });
    expect(remoteLeases(remote).size).toBe(0);
    expect(await b.break(r, { reason: 'again' })).toEqual({ broken: false });
    await expect(b.break(r, { reason: '' })).rejects.toMatchObject({ code: 'EBADOPTIONS' });
    const junk = git(remote, 'commit-tree', EMPTY_TREE, '-m', 'not json');
    git(remote, 'update-ref', leaseRef('group:deploy'), junk);
    expect(await b.break(r, { reason: 'junk' })).toMatchObject({ broken: true, holder: { owner: expect.stringContaining('unreadable') } });
    expect(remoteLeases(remote).size).toBe(0);
  });

  it('break never deletes a version it did not read: one pushed in between stays (ELEASECONFLICT naming it)', async () => {
    const r = res('group:deploy');
    plantLease(remote, leaseRecord('group:deploy', 'old-holder', 60_000));
    const b = backend(1);
    const proto = LeaseRemote.prototype as any;
    const original = proto.recordOf;
    let newer = '';
    const spy = jest.spyOn(proto, 'recordOf').mockImplementationOnce(async function (this: unknown, ...args: unknown[]) {
      const read = await original.apply(this, args);
      newer = plantLease(remote, leaseRecord('group:deploy', 'new-holder', 60_000));
      return read;
    });
    try {
      await expectLockstepError(b.break(r, { reason: 'stuck' }), 'ELEASECONFLICT', /old-holder.*now by new-holder.*nothing was removed/);
    } finally {
      spy.mockRestore();
    }
    expect(remoteLeases(remote).get(leaseRef('group:deploy'))).toBe(newer);
  });

  it('refuses TTLs outside 1s..LOCKSTEP_MAX_TTL (default 7d) and owners with control characters', async () => {
    const r = res('package:@acme/a');
    const strict = new GitLeaseBackend({ cwd: clones[0] });
    await expect(strict.acquire(r, { owner: 'a', ttlMs: 500 })).rejects.toMatchObject({ code: 'EBADDURATION', message: expect.stringContaining('between 1s and 7d') });
    await expect(strict.acquire(r, { owner: 'a', ttlMs: 3.6e29 })).rejects.toMatchObject({ code: 'EBADDURATION' });
    const env = { ...process.env, LOCKSTEP_MAX_TTL: '30d' };
    await expect(new GitLeaseBackend({ cwd: clones[0], env }).acquire(r, { owner: 'a', ttlMs: 31 * 86_400_000 })).rejects.toMatchObject({ code: 'EBADDURATION', message: expect.stringContaining('between 1s and 30d (the maximum is set by LOCKSTEP_MAX_TTL)') });
    await expect(strict.acquire(r, { owner: 'a\x1b[2J', ttlMs: 30_000 })).rejects.toMatchObject({ code: 'EBADOPTIONS' });
    expect(remoteLeases(remote).size).toBe(0);
  });

  it('ignores refs under refs/lockstep/locks/ that are not lease records', async () => {
    const blob = git(remote, 'commit-tree', EMPTY_TREE, '-m', 'not json');
    git(remote, 'update-ref', leaseRef('package:@acme/junk'), blob);
    const views: LeaseView[] = await backend(0).status();
    expect(views).toEqual([]);
    const got = await backend(0).acquire(res('repo:main'), { owner: 'alice', ttlMs: 30_000 });
    expect(got.lease.owner).toBe('alice');
  });
});
