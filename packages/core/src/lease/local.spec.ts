import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';
import { acquireLock } from '../lock/lock';
import { ensureMutexDirs, mutexPaths } from '../lock/mutex';
import { makeOwner } from '../lock/owner';
import { ProcessProbe, systemProcessProbe } from '../lock/process-probe';
import { expectLockstepError } from '../test-utils/lockstep-error';
import { useTempDir } from '../test-utils/temp-dir';
import { Worker } from '../test-utils/workers';
import type { LocalLeaseWorker } from '../test-utils/worker-protocol';
import { sleep } from '../util/sleep';
import { LocalLeaseBackend } from './local';
import * as store from './local-store';
import { entryPath, leaseHash, leaseStorePaths, placeLease, readEntry, removeLeaseCas, writeLeaseCas, StoredLease } from './local-store';
import { parseResource } from './resource';

const MIN = 60_000;
const WORKER = path.join(__dirname, '__fixtures__', 'local-lease-worker.js');

describe('LocalLeaseBackend', () => {
  const tmp = useTempDir('lockstep-lease-');
  const lockDir = () => {
    const dir = path.join(tmp(), 'locks');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  };
  const backend = (options: { probe?: ProcessProbe; lockDirIdleMs?: number } = {}) => new LocalLeaseBackend({ lockDir: lockDir(), ...options });
  const r = (text: string) => parseResource(text, { cwd: '/w' });
  const leaseFile = (id: string) => path.join(entryPath(leaseStorePaths(lockDir()), leaseHash(id)), 'lease.json');
  /** Makes the lease look last renewed `agoMs` ago (negative: in the future). */
  const age = (id: string, agoMs: number) => {
    const at = new Date(Date.now() - agoMs);
    utimesSync(leaseFile(id), at, at);
  };

  describe('acquire, renew, release', () => {
    it('acquires a lease and reports it as a LeaseView', async () => {
      const leases = backend();
      const result = await leases.acquire(r('package:@acme/a'), { owner: 'ci@runner-3', ttlMs: 30 * MIN });
      expect(result).toEqual({
        renewed: false,
        waitedMs: expect.any(Number),
        lease: {
          schema_version: 1,
          backend: 'local',
          resource: 'package:@acme/a',
          owner: 'ci@runner-3',
          nonce: expect.stringMatching(/^[0-9a-f]{24}$/),
          ttlMs: 30 * MIN,
          acquiredAt: expect.any(String),
          renewedAt: expect.any(String),
          hostname: expect.any(String),
          pid: process.pid,
          expired: false,
          remainingMs: 30 * MIN,
        },
      });
      // Only the record is stored in the view: no revision or pending mark leaks out.
      expect(Object.keys(result.lease)).not.toContain('rev');
      expect(await leases.status()).toEqual([expect.objectContaining({ resource: 'package:@acme/a', owner: 'ci@runner-3', expired: false })]);
    });

    it('renews when the same owner acquires again, keeping the nonce and taking the new TTL', async () => {
      const leases = backend();
      const first = await leases.acquire(r('group:release'), { owner: 'o', ttlMs: MIN });
      const again = await leases.acquire(r('group:release'), { owner: 'o', ttlMs: 5 * MIN });
      expect(again).toMatchObject({ renewed: true, lease: { nonce: first.lease.nonce, ttlMs: 5 * MIN, acquiredAt: first.lease.acquiredAt } });
      expect(again.tookOver).toBeUndefined();
    });

    it('refuses another owner with ELEASECONFLICT naming the holder, with a hint', async () => {
      const leases = backend();
      await leases.acquire(r('package:@acme/a'), { owner: 'alice@a', ttlMs: MIN });
      const error = await expectLockstepError(leases.acquire(r('package:@acme/a'), { owner: 'bob@b', ttlMs: MIN }), 'ELEASECONFLICT', /^Could not acquire package:@acme\/a: held by alice@a until /);
      expect(error.hint).toMatch(/--wait|release/);
    });

    it('renews only for the owner, and only what is held', async () => {
      const leases = backend();
      await expectLockstepError(leases.renew(r('package:x'), { owner: 'o' }), 'ELEASENOTHELD', 'Nobody holds a lease on package:x');
      await leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN });
      // the same words as the git backend's (lease/errors.ts)
      await expectLockstepError(leases.renew(r('package:x'), { owner: 'intruder' }), 'ELEASENOTOWNER', /^Cannot renew the lease on package:x: it is held by o .*, not by intruder\.$/);
      age('package:x', 50_000);
      expect((await leases.status())[0].remainingMs).toBeLessThan(11_000);
      const renewed = await leases.renew(r('package:x'), { owner: 'o' });
      expect(renewed).toMatchObject({ owner: 'o', ttlMs: MIN, expired: false, remainingMs: MIN });
      expect((await leases.status())[0].remainingMs).toBeGreaterThan(MIN - 5_000);
      expect(await leases.renew(r('package:x'), { owner: 'o', ttlMs: 2 * MIN })).toMatchObject({ ttlMs: 2 * MIN });
    });

    it('releases only for the owner; releasing nothing is not an error', async () => {
      const leases = backend();
      expect(await leases.release(r('package:x'), { owner: 'o' })).toEqual({ released: false });
      await leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN });
      await expect(leases.release(r('package:x'), { owner: 'other' })).rejects.toMatchObject({ code: 'ELEASENOTOWNER' });
      expect(await leases.release(r('package:x'), { owner: 'o' })).toMatchObject({ released: true, lease: { resource: 'package:x', owner: 'o' } });
      expect(await leases.release(r('package:x'), { owner: 'o' })).toEqual({ released: false });
      expect(await leases.status()).toEqual([]);
      // Nothing is left behind: no entry, no claim, no tmp, no trash.
      expect(readdirSync(path.join(lockDir(), 'leases')).sort()).toEqual(['claims']);
      expect(readdirSync(path.join(lockDir(), 'leases', 'claims'))).toEqual([]);
    });

    it('refuses an empty owner, one with control characters, or a TTL outside 1s..max (EBADDURATION naming the limits)', async () => {
      const leases = backend();
      await expect(leases.acquire(r('package:x'), { owner: ' ', ttlMs: MIN })).rejects.toMatchObject({ code: 'EBADOPTIONS' });
      await expect(leases.acquire(r('package:x'), { owner: 'o\x1b[2J', ttlMs: MIN })).rejects.toMatchObject({ code: 'EBADOPTIONS', message: expect.stringContaining('\\u001b') });
      for (const ttlMs of [0, NaN, -5, 1.5, 999, 3.6e29, Infinity, 8 * 24 * 60 * MIN]) {
        await expect(leases.acquire(r('package:x'), { owner: 'o', ttlMs })).rejects.toMatchObject({ code: 'EBADDURATION', hint: expect.stringContaining('between 1s and 7d') });
      }
      await expect(leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN, waitMs: -1 })).rejects.toMatchObject({ code: 'EBADOPTIONS' });
      // The limits are options: a test of expiry may go below a second, a deployment above a week.
      await expect(new LocalLeaseBackend({ lockDir: lockDir(), minTtlMs: 1 }).acquire(r('package:short'), { owner: 'o', ttlMs: 50 })).resolves.toMatchObject({ lease: { ttlMs: 50 } });
      await expect(new LocalLeaseBackend({ lockDir: lockDir(), maxTtlMs: 30 * 24 * 60 * MIN }).acquire(r('package:long'), { owner: 'o', ttlMs: 20 * 24 * 60 * MIN })).resolves.toMatchObject({ renewed: false });
      await expect(leases.renew(r('package:long'), { owner: 'o', ttlMs: 20 * 24 * 60 * MIN })).rejects.toMatchObject({ code: 'EBADDURATION' });
    });
  });

  describe('expiry', () => {
    it('lets another owner take over an expired lease and reports whose it was', async () => {
      const leases = backend();
      const old = await leases.acquire(r('package:x'), { owner: 'old', ttlMs: MIN });
      age('package:x', MIN + 1_000);
      expect(await leases.status()).toEqual([expect.objectContaining({ owner: 'old', expired: true, remainingMs: 0 })]);
      const taken = await leases.acquire(r('package:x'), { owner: 'new', ttlMs: MIN });
      expect(taken).toMatchObject({ renewed: false, tookOver: { owner: 'old', nonce: old.lease.nonce, expired: true }, lease: { owner: 'new' } });
      expect(taken.lease.nonce).not.toBe(old.lease.nonce);
      // The old owner lost it: renew and release tell it so.
      await expect(leases.renew(r('package:x'), { owner: 'old' })).rejects.toMatchObject({ code: 'ELEASENOTOWNER' });
      await expect(leases.release(r('package:x'), { owner: 'old' })).rejects.toMatchObject({ code: 'ELEASENOTOWNER' });
    });

    it('lets the owner renew its expired lease that nobody took over', async () => {
      const leases = backend();
      const first = await leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN });
      age('package:x', 2 * MIN);
      expect(await leases.renew(r('package:x'), { owner: 'o' })).toMatchObject({ nonce: first.lease.nonce, expired: false });
      age('package:x', 2 * MIN);
      expect(await leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN })).toMatchObject({ renewed: true, lease: { nonce: first.lease.nonce } });
    });

    it('counts a renew time in the future by more than the TTL as expired (a clock that jumped)', async () => {
      const leases = backend();
      await leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN });
      age('package:x', -30_000);
      expect((await leases.status())[0]).toMatchObject({ expired: false, remainingMs: MIN });
      age('package:x', -(MIN + 1_000));
      expect((await leases.status())[0]).toMatchObject({ expired: true });
      expect(await leases.acquire(r('package:x'), { owner: 'p', ttlMs: MIN })).toMatchObject({ tookOver: { owner: 'o' } });
    });
  });

  describe('conflicts between resources', () => {
    it('path: conflicts with overlapping paths only; repo: with everything; other namespaces on the exact name', async () => {
      const leases = backend();
      await leases.acquire(r('path:/w/dist/app'), { owner: 'a', ttlMs: MIN });
      for (const id of ['path:/w/dist', 'path:/w/dist/app/gen', 'path:/w/dist/app', 'repo:main', 'path:/']) {
        await expect(leases.acquire(r(id), { owner: 'b', ttlMs: MIN })).rejects.toMatchObject({ code: 'ELEASECONFLICT', message: expect.stringContaining('path:/w/dist/app') });
      }
      for (const id of ['path:/w/dist/application', 'path:/w/dist/api', 'package:path', 'group:/w/dist/app']) {
        await expect(leases.acquire(r(id), { owner: 'b', ttlMs: MIN })).resolves.toMatchObject({ lease: { owner: 'b' } });
      }
      await expect(leases.acquire(r('repo:other'), { owner: 'c', ttlMs: MIN })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
      // Nothing the refused acquires did is left behind.
      expect((await leases.status()).map((l) => l.resource)).toEqual([
        'group:/w/dist/app',
        'package:path',
        'path:/w/dist/api',
        'path:/w/dist/app',
        'path:/w/dist/application',
      ]);
    });

    it('lets one owner hold overlapping leases', async () => {
      const leases = backend();
      await leases.acquire(r('path:/w/dist'), { owner: 'job', ttlMs: MIN });
      await expect(leases.acquire(r('path:/w/dist/app'), { owner: 'job', ttlMs: MIN })).resolves.toMatchObject({ renewed: false });
      await expect(leases.acquire(r('repo:main'), { owner: 'job', ttlMs: MIN })).resolves.toMatchObject({ renewed: false });
    });

    it('removes an expired conflicting lease of another resource, so its owner cannot renew it into a conflict', async () => {
      const leases = backend();
      await leases.acquire(r('path:/w/dist'), { owner: 'old', ttlMs: MIN });
      age('path:/w/dist', 2 * MIN);
      await expect(leases.acquire(r('path:/w/dist/app'), { owner: 'new', ttlMs: MIN })).resolves.toMatchObject({ lease: { owner: 'new' } });
      await expect(leases.renew(r('path:/w/dist'), { owner: 'old' })).rejects.toMatchObject({ code: 'ELEASENOTHELD' });
    });

    it('status of a resource lists the leases that conflict with it', async () => {
      const leases = backend();
      await leases.acquire(r('path:/w/a'), { owner: 'a', ttlMs: MIN });
      await leases.acquire(r('path:/w/a/b'), { owner: 'a', ttlMs: MIN });
      await leases.acquire(r('path:/w/c'), { owner: 'a', ttlMs: MIN });
      await leases.acquire(r('package:p'), { owner: 'a', ttlMs: MIN });
      expect((await leases.status(r('path:/w/a/b/c'))).map((l) => l.resource)).toEqual(['path:/w/a', 'path:/w/a/b']);
      expect((await leases.status(r('repo:x'))).length).toBe(4);
      expect((await leases.status(r('package:q'))).length).toBe(0);
    });
  });

  describe('waiting', () => {
    it('waits for a conflicting lease to go, telling onWait what is in the way', async () => {
      const leases = backend();
      await leases.acquire(r('package:x'), { owner: 'a', ttlMs: MIN });
      // a releases 150 ms after b says it waits (a fixed delay from here could pass before b's first try on a busy machine)
      let releasing: Promise<unknown> | undefined;
      const waits: any[] = [];
      const onWait = (info: unknown) => {
        waits.push(info);
        releasing ??= sleep(150).then(() => leases.release(r('package:x'), { owner: 'a' }));
      };
      const result = await leases.acquire(r('package:x'), { owner: 'b', ttlMs: MIN, waitMs: 30_000, pollMs: 10, onWait });
      await releasing;
      expect(result.lease.owner).toBe('b');
      expect(result.waitedMs).toBeGreaterThanOrEqual(100);
      expect(waits[0]).toMatchObject({ resource: 'package:x', conflicts: [{ owner: 'a' }] });
    }, 60_000);

    it('gives up after waitMs with ELEASECONFLICT saying how long it waited', async () => {
      const leases = backend();
      await leases.acquire(r('package:x'), { owner: 'a', ttlMs: MIN });
      await expectLockstepError(leases.acquire(r('package:x'), { owner: 'b', ttlMs: MIN, waitMs: 120, pollMs: 10 }), 'ELEASECONFLICT', /after waiting (\d+ms|(\d+m)?\d+s): /);
    });

    it('stops waiting with EABORTED when the signal aborts', async () => {
      const leases = backend();
      await leases.acquire(r('package:x'), { owner: 'a', ttlMs: MIN });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      await expectLockstepError(leases.acquire(r('package:x'), { owner: 'b', ttlMs: MIN, waitMs: 10_000, pollMs: 10, signal: controller.signal }), 'EABORTED', 'Stopped waiting for the lease on package:x');
    });
  });

  describe('compare-and-swap', () => {
    const ctx = () => ({ me: makeOwner('leases', systemProcessProbe, process.pid, 'test'), probe: systemProcessProbe, claimStaleMs: 30_000 });

    it('a takeover that saw an expired lease cannot remove it once its owner renewed it', async () => {
      const leases = backend();
      await leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN });
      age('package:x', 2 * MIN);
      const paths = leaseStorePaths(lockDir());
      const seen = readEntry(paths, leaseHash('package:x'))!;
      await leases.renew(r('package:x'), { owner: 'o' });
      expect(removeLeaseCas(paths, seen.hash, seen.identity, ctx())).toBe('changed');
      expect(writeLeaseCas(paths, seen.hash, seen.identity, { ...seen.lease!, owner: 'thief', rev: 'x' }, ctx())).toBe('changed');
      expect((await leases.status())[0]).toMatchObject({ owner: 'o', expired: false });
    });

    it('one claim per revision: a second writer of the same revision is turned away while the first is at it', () => {
      const paths = leaseStorePaths(lockDir());
      mkdirSync(paths.claims, { recursive: true });
      const lease: StoredLease = {
        schema_version: 1, resource: 'package:x', owner: 'o', nonce: 'n', ttlMs: MIN, acquiredAt: '', renewedAt: '', hostname: 'h', pid: 1, rev: 'r1',
      };
      const hash = leaseHash('package:x');
      expect(placeLease(paths, hash, lease)).toBe(true);
      expect(placeLease(paths, hash, { ...lease, owner: 'p' })).toBe(false);
      // A live process (this one) holds the claim for r1.
      mkdirSync(path.join(paths.claims, `${hash}.r1`));
      writeFileSync(path.join(paths.claims, `${hash}.r1`, 'owner.json'), JSON.stringify(makeOwner('leases', systemProcessProbe, process.pid, 'other')));
      expect(removeLeaseCas(paths, hash, 'r1', ctx())).toBe('busy');
      expect(existsSync(entryPath(paths, hash))).toBe(true);
    });

    it('takes over the claim of a claimer that died, under a new name', () => {
      const paths = leaseStorePaths(lockDir());
      mkdirSync(paths.claims, { recursive: true });
      const hash = leaseHash('package:x');
      placeLease(paths, hash, { schema_version: 1, resource: 'package:x', owner: 'o', nonce: 'n', ttlMs: MIN, acquiredAt: '', renewedAt: '', hostname: 'h', pid: 1, rev: 'r1' });
      const dead = makeOwner('leases', systemProcessProbe, 2 ** 22 + 12345, 'dead');
      mkdirSync(path.join(paths.claims, `${hash}.r1`));
      writeFileSync(path.join(paths.claims, `${hash}.r1`, 'owner.json'), JSON.stringify(dead));
      expect(removeLeaseCas(paths, hash, 'r1', ctx())).toBe('done');
      expect(readdirSync(paths.claims)).toEqual([]);
    });

    it('a pending entry of a live process of another owner is in the way; one of a dead process is not', async () => {
      const leases = backend();
      const paths = leaseStorePaths(lockDir());
      mkdirSync(paths.claims, { recursive: true });
      const pending = (pid: number): StoredLease => ({
        schema_version: 1, resource: 'package:x', owner: 'other', nonce: 'n', ttlMs: MIN, acquiredAt: new Date().toISOString(),
        renewedAt: new Date().toISOString(), hostname: require('os').hostname(), pid, rev: `r${pid}`, pending: true,
      });
      placeLease(paths, leaseHash('package:x'), pending(process.pid));
      await expect(leases.acquire(r('package:x'), { owner: 'me', ttlMs: MIN })).rejects.toMatchObject({ code: 'ELEASECONFLICT' });
      expect(await leases.status()).toEqual([]); // not held yet: not listed
      removeLeaseCas(paths, leaseHash('package:x'), `r${process.pid}`, ctx());
      placeLease(paths, leaseHash('package:x'), pending(2 ** 22 + 54321));
      const result = await leases.acquire(r('package:x'), { owner: 'me', ttlMs: MIN });
      expect(result.lease.owner).toBe('me');
      expect(result.tookOver).toBeUndefined(); // a half-made entry was never a lease
    });

    it('treats an unreadable lease file as in the way for a minute, then as garbage', async () => {
      const leases = backend();
      await leases.acquire(r('package:x'), { owner: 'o', ttlMs: MIN });
      writeFileSync(leaseFile('package:x'), '{torn');
      await expect(leases.acquire(r('package:x'), { owner: 'p', ttlMs: MIN })).rejects.toMatchObject({ code: 'ELEASECONFLICT', message: expect.stringContaining('unreadable') });
      await expect(leases.release(r('package:x'), { owner: 'o' })).rejects.toMatchObject({ code: 'ELEASECONFLICT', hint: expect.stringContaining('gc') });
      const old = new Date(Date.now() - 2 * MIN);
      utimesSync(leaseFile('package:x'), old, old);
      await expect(leases.acquire(r('package:x'), { owner: 'p', ttlMs: MIN })).resolves.toMatchObject({ lease: { owner: 'p' } });
    });
  });

  describe('gc', () => {
    it('removes expired leases and keeps live ones', async () => {
      const leases = backend();
      await leases.acquire(r('package:live'), { owner: 'a', ttlMs: MIN });
      await leases.acquire(r('package:old'), { owner: 'b', ttlMs: MIN });
      age('package:old', 2 * MIN);
      const result = await leases.gc();
      expect(result.removed).toEqual([expect.objectContaining({ resource: 'package:old', owner: 'b', expired: true })]);
      expect((await leases.status()).map((l) => l.resource)).toEqual(['package:live']);
      expect((await leases.gc()).removed).toEqual([]);
    });

    it('sweeps what killed processes left: dead tmp dirs, old trash, claims of dead claimers', async () => {
      const leases = backend();
      const paths = leaseStorePaths(lockDir());
      await leases.status();
      mkdirSync(path.join(paths.root, `tmp-${2 ** 22 + 777}-abc`));
      mkdirSync(path.join(paths.root, `tmp-${process.pid}-live`));
      mkdirSync(path.join(paths.root, 'trash-old'));
      const old = new Date(Date.now() - 2 * MIN);
      utimesSync(path.join(paths.root, 'trash-old'), old, old);
      mkdirSync(path.join(paths.claims, 'deadclaim'));
      writeFileSync(path.join(paths.claims, 'deadclaim', 'owner.json'), JSON.stringify(makeOwner('leases', systemProcessProbe, 2 ** 22 + 778, 'x')));
      mkdirSync(path.join(paths.claims, 'liveclaim'));
      writeFileSync(path.join(paths.claims, 'liveclaim', 'owner.json'), JSON.stringify(makeOwner('leases', systemProcessProbe, process.pid, 'x')));
      await leases.gc();
      expect(readdirSync(paths.root).sort()).toEqual(['claims', `tmp-${process.pid}-live`]);
      expect(readdirSync(paths.claims)).toEqual(['liveclaim']);
    });

    it('removes idle per-key lock dirs of the core lock, and only those', async () => {
      const dir = lockDir();
      const leases = backend({ lockDirIdleMs: 60_000 });
      const old = new Date(Date.now() - 5 * MIN);
      const ageDir = (base: string) => {
        for (const p of [path.join(base, 'q'), path.join(base, 'claims'), base]) if (existsSync(p)) utimesSync(p, old, old);
      };
      // idle: used once, released, untouched for 5 min
      const idle = await acquireLock('path:/w/idle', { lockDir: dir });
      await idle.release();
      ageDir(mutexPaths(dir, 'path:/w/idle').base);
      // held right now
      const held = await acquireLock('path:/w/held', { lockDir: dir, releaseOnSignals: false });
      ageDir(mutexPaths(dir, 'path:/w/held').base);
      // a waiter's ticket
      const queued = mutexPaths(dir, 'path:/w/queued');
      ensureMutexDirs(queued, 'path:/w/queued');
      mkdirSync(path.join(queued.queue, '0000000000000001'));
      ageDir(queued.base);
      // idle but used a moment ago
      const recent = await acquireLock('path:/w/recent', { lockDir: dir });
      await recent.release();

      const result = await leases.gc();
      expect(result.lockDirs).toEqual([{ key: 'path:/w/idle', path: mutexPaths(dir, 'path:/w/idle').base }]);
      expect(result.lockDirsKept).toEqual([]);
      expect(existsSync(mutexPaths(dir, 'path:/w/idle').base)).toBe(false);
      for (const key of ['path:/w/held', 'path:/w/queued', 'path:/w/recent']) expect(existsSync(mutexPaths(dir, key).base)).toBe(true);
      expect(existsSync(path.join(dir, 'leases'))).toBe(true);
      expect(readdirSync(dir).filter((n) => n.startsWith('trash-'))).toEqual([]);
      // The holder was not disturbed, and a new locker re-creates the removed dir cleanly.
      expect(held.compromised).toBe(false);
      expect(await held.release()).toBe(true);
      const again = await acquireLock('path:/w/idle', { lockDir: dir, timeoutMs: 1_000 });
      expect(readFileSync(path.join(mutexPaths(dir, 'path:/w/idle').base, 'key'), 'utf8')).toBe('path:/w/idle');
      await again.release();
    });
  });

  describe('records from elsewhere, and break', () => {
    /** Writes lease.json for `id` as another user's tool might have (no checks at all). */
    const plant = (id: string, fields: Record<string, unknown>) => {
      const paths = leaseStorePaths(lockDir());
      mkdirSync(paths.claims, { recursive: true, mode: 0o700 });
      const record = { schema_version: 1, resource: id, owner: 'o', nonce: 'n', ttlMs: MIN, acquiredAt: new Date().toISOString(), renewedAt: new Date().toISOString(), hostname: 'elsewhere', pid: 1, rev: 'r1', ...fields };
      expect(placeLease(paths, leaseHash(id), record as StoredLease)).toBe(true);
    };

    it('a record whose ttl is not a sane number counts as expired (unsound): shown as such, taken over, collected', async () => {
      const leases = backend();
      plant('package:huge', { ttlMs: 3.6e29, owner: 'evil\x1b[2J' });
      plant('package:neg', { ttlMs: -5 });
      plant('package:frac', { ttlMs: 0.5 });
      const views = await leases.status();
      expect(views.map((v) => [v.resource, v.expired, v.remainingMs, typeof v.unsound])).toEqual([
        ['package:frac', true, 0, 'string'],
        ['package:huge', true, 0, 'string'],
        ['package:neg', true, 0, 'string'],
      ]);
      const got = await leases.acquire(r('package:huge'), { owner: 'me', ttlMs: MIN });
      expect(got.tookOver).toMatchObject({ owner: 'evil\x1b[2J', unsound: expect.stringContaining('3.6e+29') });
      expect((await leases.gc()).removed.map((v) => v.resource).sort()).toEqual(['package:frac', 'package:neg']);
    });

    it('messages about such a record escape its control characters and cut absurd fields', async () => {
      const leases = backend();
      plant('package:x', { owner: `\x1b]0;pwned\x07\x1b[2J${'A'.repeat(10_000)}`, hostname: 'h\u202eost' });
      const error = await leases.acquire(r('package:x'), { owner: 'me', ttlMs: MIN }).catch((e) => e);
      expect(error.code).toBe('ELEASECONFLICT');
      const text = `${error.message}\n${error.hint}`;
      expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
      expect(text).toContain('\\u001b]0;pwned\\u0007\\u001b[2J');
      expect(text).toContain('h\\u202eost');
      expect(text.length).toBeLessThan(2000);
      const notOwner = await leases.release(r('package:x'), { owner: 'me' }).catch((e) => e);
      expect(notOwner.code).toBe('ELEASENOTOWNER');
      expect(notOwner.message).not.toContain('\x1b');
    });

    it('break removes a live lease of another owner (and a damaged entry) and says whose it was; nothing held: broken false', async () => {
      const leases = backend();
      await leases.acquire(r('package:x'), { owner: 'alice', ttlMs: 30 * MIN });
      const result = await leases.break(r('package:x'), { reason: 'alice left' });
      expect(result).toMatchObject({ broken: true, holder: { owner: 'alice', resource: 'package:x', expired: false } });
      expect(await leases.status()).toEqual([]);
      expect(await leases.break(r('package:x'), { reason: 'again' })).toEqual({ broken: false });
      await expect(leases.break(r('package:x'), { reason: ' ' })).rejects.toMatchObject({ code: 'EBADOPTIONS' });
      // A damaged lease file, which otherwise blocks for a minute.
      await leases.acquire(r('package:y'), { owner: 'alice', ttlMs: 30 * MIN });
      writeFileSync(leaseFile('package:y'), '{torn');
      expect(await leases.break(r('package:y'), { reason: 'torn file' })).toMatchObject({ broken: true, holder: { owner: expect.stringContaining('unreadable') } });
      expect(await leases.acquire(r('package:y'), { owner: 'bob', ttlMs: MIN })).toMatchObject({ renewed: false });
    });
  });

  it('break is a compare-and-swap on what it read: a lease renewed in between is not removed (ELEASECONFLICT)', async () => {
    const leases = backend();
    await leases.acquire(r('package:x'), { owner: 'alice', ttlMs: 30 * MIN });
    const original = store.readEntry;
    const ctx = { me: makeOwner('t', systemProcessProbe, process.pid, 't'), probe: systemProcessProbe, claimStaleMs: 30_000 };
    // alice renews right after break read the entry
    const spy = jest.spyOn(store, 'readEntry').mockImplementationOnce((paths, hash) => {
      const seen = original(paths, hash)!;
      expect(store.writeLeaseCas(paths, hash, seen.identity, { ...seen.lease!, rev: 'renewed-meanwhile' }, ctx)).toBe('done');
      return seen;
    });
    try {
      await expect(leases.break(r('package:x'), { reason: 'stuck' })).rejects.toMatchObject({ code: 'ELEASECONFLICT', message: expect.stringContaining('nothing was removed') });
    } finally {
      spy.mockRestore();
    }
    expect((await leases.status()).map((v) => v.owner)).toEqual(['alice']);
  });

  describe('real processes racing', () => {
    // Forked workers load packages/core/dist: build core first (npx tsc -b packages/core).
    // Six node processes and hundreds of rounds of IPC: sized for a busy 2-core machine.
    const RACE_MS = 120_000;
    let workers: Array<Worker<LocalLeaseWorker>> = [];
    afterEach(async () => {
      await Promise.all(workers.map((w) => w.stop()));
      workers = [];
    }, 30_000);

    it('6 processes racing for one expired lease: exactly one takes it over, never two hold it (40 rounds)', async () => {
      const dir = lockDir();
      const markerDir = path.join(tmp(), 'markers');
      mkdirSync(markerDir);
      const leases = new LocalLeaseBackend({ lockDir: dir });
      workers = Array.from({ length: 6 }, () => new Worker<LocalLeaseWorker>(WORKER));
      await Promise.all(workers.map((w) => w.whenReady()));
      let violations = 0;
      let tookOver = 0;
      for (let round = 0; round < 40; round++) {
        await leases.acquire(r('package:race'), { owner: 'ghost', ttlMs: MIN });
        age('package:race', 2 * MIN);
        const results = await Promise.all(workers.map((w, i) => w.request({ op: 'try', lockDir: dir, resource: 'package:race', owner: `w${i}`, markerDir })));
        const winners = results.filter((x) => x.ok);
        const losers = results.filter((x) => !x.ok);
        expect({ round, winners: winners.length, unexpected: losers.filter((x) => x.code !== 'ELEASECONFLICT') }).toEqual({ round, winners: 1, unexpected: [] });
        violations += results.filter((x) => x.violation).length;
        if (winners[0].tookOver === 'ghost') tookOver++;
        const released = await Promise.all(workers.map((w) => w.request({ op: 'release' })));
        expect({ round, released: released.filter((x) => x.released).length, failed: released.filter((x) => !x.ok) }).toEqual({ round, released: 1, failed: [] });
      }
      expect(violations).toBe(0);
      // A takeover rewrites the entry in place: the one that judged the lease expired is the one that gets it.
      expect(tookOver).toBe(40);
    }, RACE_MS);

    it('6 processes waiting for pairwise-conflicting resources never hold at once (30 rounds, some starting from an expired lease)', async () => {
      const dir = lockDir();
      const markerDir = path.join(tmp(), 'markers');
      mkdirSync(markerDir);
      const leases = new LocalLeaseBackend({ lockDir: dir });
      // Every pair of these conflicts: nested paths, and repo: with everything.
      const resources = ['path:/race', 'path:/race/a', 'path:/race/a/b', 'repo:main', 'path:/race', 'path:/race/a/b/c'];
      workers = Array.from({ length: 6 }, () => new Worker<LocalLeaseWorker>(WORKER));
      await Promise.all(workers.map((w) => w.whenReady()));
      let violations = 0;
      let acquisitions = 0;
      for (let round = 0; round < 30; round++) {
        if (round % 3 === 0) {
          await leases.acquire(r('path:/race/a'), { owner: 'ghost', ttlMs: MIN });
          age('path:/race/a', 2 * MIN);
        }
        const results = await Promise.all(
          workers.map((w, i) => w.request({ op: 'acquire', lockDir: dir, resource: resources[(i + round) % resources.length], owner: `w${i}`, markerDir, holdMs: 1, waitMs: 20_000, pollMs: 3 })),
        );
        for (const x of results) {
          expect(x).toMatchObject({ ok: true, released: true });
          if (x.violation) violations++;
          acquisitions++;
        }
      }
      expect(violations).toBe(0);
      expect(acquisitions).toBe(180);
      expect(await leases.status()).toEqual([]);
    }, RACE_MS);
  });
});
