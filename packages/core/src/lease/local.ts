import * as os from 'os';
import { explainUnderLockDir, resolveLockDir, verifyLockDir } from '../lock/lock-dir';
import { LockOwner, makeOwner } from '../lock/owner';
import { ProcessProbe, systemProcessProbe } from '../lock/process-probe';
import { sleep } from '../util/sleep';
import { type LeaseTtlOptions, acquireWithWait, checkAcquire, checkLeaseResource, checkRelease, checkRenew } from './base';
import { sortLeaseViews } from './describe';
import { leaseBusyError, leaseChangedWhileBreakingError, leaseConflictError, leaseFileDamagedError, leaseNotHeldError, leaseNotOwnerError } from './errors';
import { RemovedLockDir, collectIdleLockDirs } from './local-gc';
import {
  CasContext,
  EntryRead,
  LeaseStorePaths,
  StoredLease,
  ensureLeaseStore,
  leaseHash,
  leaseStorePaths,
  listEntries,
  newNonce,
  newRev,
  placeLease,
  readEntry,
  removeLeaseCas,
  sweepLeaseStore,
  writeLeaseCas,
} from './local-store';
import { LeaseResource, checkBreakReason, resourceFromId, resourcesConflict } from './resource';
import { isSaneTtl, recordProblem } from './ttl';
import type { LeaseAcquireOptions, LeaseAcquireResult, LeaseBackend, LeaseBreakResult, LeaseView } from './types';

export interface LocalLeaseBackendOptions extends LeaseTtlOptions {
  /** Directory for lock state. Default: resolveLockDir() (LOCKSTEP_LOCK_DIR, XDG_RUNTIME_DIR/lockstep, tmp/lockstep-<uid>). */
  lockDir?: string;
  /** Judges whether the process behind a half-made entry or a claim still runs. Default: the system's. */
  probe?: ProcessProbe;
  /** Wall clock (ms), compared with file mtimes: same machine. Default Date.now. */
  now?: () => number;
  /** gc removes a core lock directory only when nothing in it changed for this long. Default 10 min. */
  lockDirIdleMs?: number;
}

/** What `gc` of the local backend removed. */
export interface LocalLeaseGcResult {
  /** Expired leases, each removed by compare-and-swap on what was seen. */
  removed: LeaseView[];
  /** Idle per-key directories of the core lock (generate, groups), renamed to trash and deleted. */
  lockDirs: RemovedLockDir[];
  /** Directories gc began to remove but put back, because a locker arrived at that moment. */
  lockDirsKept: RemovedLockDir[];
}

export const DEFAULT_LOCAL_POLL_MS = 50;
const DEFAULT_LOCK_DIR_IDLE_MS = 10 * 60_000;
/** An entry whose lease.json is unreadable (damaged by hand) is in the way for this long after its last change. */
const DAMAGED_STALE_MS = 60_000;
/** A claim of a process on another host (a shared LOCKSTEP_LOCK_DIR) is taken over after this long. */
const CLAIM_STALE_MS = 30_000;
/** Leftover tmp and trash entries of killed processes are swept after this long. */
const LEFTOVER_MS = 60_000;
/** Bound on the retries of one attempt: each retry means another process changed the entry just now. */
const MAX_ROUNDS = 500;

type Attempt = { result: Omit<LeaseAcquireResult, 'waitedMs'> } | { conflicts: LeaseView[] };
type Taken = Omit<LeaseAcquireResult, 'waitedMs'>;

/**
 * Leases in the per-user lock directory, shared by every command of that user
 * on this machine (see local-store.ts for the layout and the
 * compare-and-swap). Expiry compares the mtime of the lease file (the last
 * renew, as the filesystem stamped it) with the wall clock of the same
 * machine; a time in the future by more than the TTL counts as expired too (a
 * clock that jumped). Leases outlive the process that took them: the pid in
 * the record is for people.
 *
 * Acquire creates its entry first (marked pending; taking over an expired
 * lease of the same resource rewrites that entry in place, by
 * compare-and-swap on the revision it saw), then scans every other
 * lease for a conflicting live one of another owner: if there is one, it
 * removes its own entry and fails or retries; otherwise it removes the
 * conflicting expired ones (compare-and-swap) and clears the pending mark.
 * Of two conflicting acquirers the later one always sees the earlier one, so
 * both may fail but never both hold. A pending entry stops others as a held
 * lease does; one left by a dead process counts as expired.
 */
export class LocalLeaseBackend implements LeaseBackend {
  readonly kind = 'local' as const;
  private readonly probe: ProcessProbe;
  private readonly clock: () => number;
  private paths?: LeaseStorePaths;
  private lockDirResolved?: string;
  private casContext?: CasContext;

  constructor(readonly options: LocalLeaseBackendOptions = {}) {
    this.probe = options.probe ?? systemProcessProbe;
    this.clock = options.now ?? Date.now;
  }

  /** The lock directory in use (resolved on first use). */
  get lockDir(): string {
    this.lockDirResolved ??= this.options.lockDir ?? resolveLockDir();
    return this.lockDirResolved;
  }

  async acquire(resource: LeaseResource, options: LeaseAcquireOptions): Promise<LeaseAcquireResult> {
    const { owner, ttlMs, waitMs } = checkAcquire(resource, options, this.options);
    const { taken, waitedMs } = await acquireWithWait<Taken>({
      resource,
      options,
      waitMs,
      defaultPollMs: DEFAULT_LOCAL_POLL_MS,
      jitter: 0.5,
      attempt: async () => {
        // The lock directory must still be the one checked first (not swapped since): one lstat.
        verifyLockDir(this.lockDir);
        let attempt: Attempt;
        try {
          attempt = await this.tryAcquire(resource, owner, ttlMs);
        } catch (error) {
          throw explainUnderLockDir(this.lockDir, error);
        }
        return 'result' in attempt ? { taken: attempt.result, renewed: attempt.result.renewed } : attempt;
      },
      abandon: async () => {
        await this.release(resource, { owner });
      },
      conflictError: (conflicts, waited) => leaseConflictError(resource, conflicts, { backend: 'local', waitedMs: waited, expiry: 'once its TTL has passed since its last renew' }),
    });
    return { ...taken, waitedMs };
  }

  async renew(resource: LeaseResource, options: { owner: string; ttlMs?: number }): Promise<LeaseView> {
    const { owner } = checkRenew(resource, options, this.options);
    const paths = this.store();
    const hash = leaseHash(resource.id);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.clock();
      const cur = readEntry(paths, hash);
      if (cur === undefined) throw leaseNotHeldError(resource);
      if (cur.lease === null) throw leaseFileDamagedError(resource, cur.dir, DAMAGED_STALE_MS);
      if (cur.lease.owner !== owner) throw leaseNotOwnerError(resource, owner, this.view(cur, now), 'renew');
      if (cur.lease.pending) {
        // An acquire by the same owner is still checking for conflicts: wait for its verdict.
        if (this.placerDead(cur.lease)) throw leaseNotHeldError(resource);
        await sleep(1);
        continue;
      }
      const next: StoredLease = { ...cur.lease, ttlMs: options.ttlMs ?? cur.lease.ttlMs, renewedAt: new Date(now).toISOString(), rev: newRev() };
      const outcome = writeLeaseCas(paths, hash, cur.identity, next, this.cas());
      if (outcome === 'done') return this.freshView(next);
      if (outcome === 'busy') await sleep(1);
    }
    throw leaseBusyError(resource, 'renew');
  }

  async release(resource: LeaseResource, options: { owner: string }): Promise<{ released: boolean; lease?: LeaseView }> {
    const { owner } = checkRelease(resource, options);
    const paths = this.store();
    const hash = leaseHash(resource.id);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.clock();
      const cur = readEntry(paths, hash);
      if (cur === undefined) return { released: false };
      if (cur.lease === null) throw leaseFileDamagedError(resource, cur.dir, DAMAGED_STALE_MS);
      if (cur.lease.owner !== owner) throw leaseNotOwnerError(resource, owner, this.view(cur, now), 'release');
      if (cur.lease.pending) {
        if (this.placerDead(cur.lease)) return { released: false };
        await sleep(1);
        continue;
      }
      const view = this.view(cur, now);
      const outcome = removeLeaseCas(paths, hash, cur.identity, this.cas());
      if (outcome === 'done') return { released: true, lease: view };
      if (outcome === 'busy') await sleep(1);
    }
    throw leaseBusyError(resource, 'release');
  }

  async status(resource?: LeaseResource): Promise<LeaseView[]> {
    if (resource) checkLeaseResource(resource);
    const paths = this.store();
    const now = this.clock();
    const views: LeaseView[] = [];
    for (const hash of listEntries(paths)) {
      const cur = readEntry(paths, hash);
      // Unreadable entries name no resource; gc removes them once they are old.
      if (!cur?.lease) continue;
      // Pending: an acquire still deciding, not a lease (yet); a dead one is garbage for gc.
      if (cur.lease.pending && !this.placerDead(cur.lease)) continue;
      if (resource) {
        let other: LeaseResource;
        try {
          other = resourceFromId(cur.lease.resource);
        } catch {
          continue;
        }
        if (!resourcesConflict(other, resource)) continue;
      }
      views.push(this.view(cur, now));
    }
    return sortLeaseViews(views);
  }

  async gc(): Promise<LocalLeaseGcResult> {
    const paths = this.store();
    const removed: LeaseView[] = [];
    for (const hash of listEntries(paths)) {
      const now = this.clock();
      const cur = readEntry(paths, hash);
      if (!cur || !this.expired(cur, now)) continue;
      if (removeLeaseCas(paths, hash, cur.identity, this.cas()) === 'done' && cur.lease && !cur.lease.pending) removed.push(this.view(cur, now));
    }
    sweepLeaseStore(paths, this.probe, LEFTOVER_MS, this.clock());
    const dirs = collectIdleLockDirs(this.lockDir, this.probe, this.options.lockDirIdleMs ?? DEFAULT_LOCK_DIR_IDLE_MS, this.clock);
    return { removed, lockDirs: dirs.removed, lockDirsKept: dirs.restored };
  }

  /**
   * Removes the lease on `resource` whoever holds it (a damaged entry too),
   * by compare-and-swap on the revision read: if it changed in between,
   * nothing is removed and this is ELEASECONFLICT naming the new holder.
   */
  async break(resource: LeaseResource, options: { reason: string }): Promise<LeaseBreakResult> {
    checkLeaseResource(resource);
    checkBreakReason(options?.reason);
    // As acquire does: the lock directory must still be the one checked first.
    verifyLockDir(this.lockDir);
    const paths = this.store();
    const hash = leaseHash(resource.id);
    const now = this.clock();
    const cur = readEntry(paths, hash);
    if (cur === undefined) return { broken: false };
    const holder = cur.lease ? this.view(cur, now) : this.damagedView(cur, resource, now);
    const outcome = removeLeaseCas(paths, hash, cur.identity, this.cas());
    if (outcome === 'done') return { broken: true, holder };
    const after = readEntry(paths, hash);
    const next = after?.lease ? this.view(after, this.clock()) : undefined;
    throw leaseChangedWhileBreakingError(resource, holder, next, 'local');
  }

  // ---------------------------------------------------------------------------

  private async tryAcquire(resource: LeaseResource, owner: string, ttlMs: number): Promise<Attempt> {
    const paths = this.store();
    const hash = leaseHash(resource.id);
    let seen: LeaseView[] = [];
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.clock();
      const cur = readEntry(paths, hash);
      if (cur === undefined) {
        const mine = this.newLease(resource, owner, ttlMs, now);
        if (!placeLease(paths, hash, mine)) continue;
        const settled = await this.settle(paths, hash, mine, resource, owner);
        if ('lease' in settled) return { result: { lease: settled.lease, renewed: false } };
        if (settled.conflicts) return { conflicts: settled.conflicts };
        continue; // our entry was removed as expired (we stalled past the TTL): start over
      }
      if (cur.lease === null) {
        if (this.expired(cur, now)) {
          removeLeaseCas(paths, hash, cur.identity, this.cas());
          continue;
        }
        return { conflicts: [this.damagedView(cur, resource, now)] };
      }
      const view = this.view(cur, now);
      seen = [view];
      if (cur.lease.owner === owner && !(cur.lease.pending && this.placerDead(cur.lease))) {
        if (cur.lease.pending) {
          // The same owner's acquire in another process is deciding right now: wait for it.
          await sleep(1);
          continue;
        }
        // The same owner again: renew, keeping the nonce (an expired lease nobody took over, too).
        const next: StoredLease = { ...cur.lease, ttlMs, renewedAt: new Date(now).toISOString(), rev: newRev() };
        const outcome = writeLeaseCas(paths, hash, cur.identity, next, this.cas());
        if (outcome === 'done') return { result: { lease: this.freshView(next), renewed: true } };
        if (outcome === 'busy') await sleep(1);
        continue;
      }
      if (!view.expired) return { conflicts: [view] };
      // Expired (or a dead process's half-made entry): take it over, by compare-and-swap on what we saw.
      // In place (a new lease.json under the claim), so the entry never disappears in between
      // and the process that judged it expired is the one that gets it.
      const mine = this.newLease(resource, owner, ttlMs, now);
      const outcome = writeLeaseCas(paths, hash, cur.identity, mine, this.cas());
      if (outcome === 'busy') return { conflicts: [view] }; // another taker is at it
      if (outcome !== 'done') continue; // renewed or taken meanwhile: look again
      const settled = await this.settle(paths, hash, mine, resource, owner);
      const took = cur.lease.pending ? {} : { tookOver: view };
      if ('lease' in settled) return { result: { lease: settled.lease, renewed: false, ...took } };
      if (settled.conflicts) return { conflicts: settled.conflicts };
    }
    return { conflicts: seen };
  }

  /**
   * After placing our pending entry: scan for conflicting leases of other
   * owners. A live one: remove ours and report it. Expired ones: remove them
   * (compare-and-swap), then clear the pending mark.
   */
  private async settle(
    paths: LeaseStorePaths,
    hash: string,
    mine: StoredLease,
    resource: LeaseResource,
    owner: string,
  ): Promise<{ lease: LeaseView } | { conflicts?: LeaseView[] }> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.clock();
      const { live, expired } = this.scanConflicts(paths, hash, resource, owner, now);
      if (live.length > 0) {
        removeLeaseCas(paths, hash, mine.rev, this.cas());
        return { conflicts: live };
      }
      let changed = false;
      for (const entry of expired) {
        if (removeLeaseCas(paths, entry.hash, entry.identity, this.cas()) !== 'done') changed = true;
      }
      if (changed) {
        // Renewed or being removed by someone else just now: look again.
        await sleep(1);
        continue;
      }
      const held: StoredLease = { ...mine, rev: newRev(), pending: undefined, startTime: undefined };
      const outcome = writeLeaseCas(paths, hash, mine.rev, held, this.cas());
      if (outcome === 'done') return { lease: this.freshView(held) };
      if (outcome === 'changed') return {};
      await sleep(1);
    }
    removeLeaseCas(paths, hash, mine.rev, this.cas());
    return { conflicts: [] };
  }

  private scanConflicts(paths: LeaseStorePaths, myHash: string, resource: LeaseResource, owner: string, now: number): { live: LeaseView[]; expired: EntryRead[] } {
    const live: LeaseView[] = [];
    const expired: EntryRead[] = [];
    for (const hash of listEntries(paths)) {
      if (hash === myHash) continue;
      const entry = readEntry(paths, hash);
      // An unreadable entry names no resource we could compare; it only blocks its own hash.
      if (!entry?.lease || entry.lease.owner === owner) continue;
      let other: LeaseResource;
      try {
        other = resourceFromId(entry.lease.resource);
      } catch {
        continue;
      }
      if (!resourcesConflict(other, resource)) continue;
      if (this.expired(entry, now)) expired.push(entry);
      else live.push(this.view(entry, now));
    }
    return { live, expired };
  }

  private newLease(resource: LeaseResource, owner: string, ttlMs: number, now: number): StoredLease {
    const at = new Date(now).toISOString();
    return {
      schema_version: 1,
      resource: resource.id,
      owner,
      nonce: newNonce(),
      ttlMs,
      acquiredAt: at,
      renewedAt: at,
      hostname: os.hostname(),
      pid: process.pid,
      rev: newRev(),
      pending: true,
      startTime: this.probe.startTime(process.pid),
    };
  }

  private store(): LeaseStorePaths {
    if (!this.paths) {
      const paths = leaseStorePaths(this.lockDir);
      ensureLeaseStore(paths);
      this.paths = paths;
    }
    return this.paths;
  }

  private cas(): CasContext {
    this.casContext ??= { me: this.claimOwner(), probe: this.probe, claimStaleMs: CLAIM_STALE_MS };
    return this.casContext;
  }

  private claimOwner(): LockOwner {
    return makeOwner('leases', this.probe, process.pid, 'lockstep lease');
  }

  /** A pending entry's placer is provably gone (same host, pid gone or reused). */
  private placerDead(lease: StoredLease): boolean {
    if (lease.hostname !== this.probe.hostname()) return false;
    if (!this.probe.isAlive(lease.pid)) return true;
    if (lease.startTime !== undefined) {
      const now = this.probe.startTime(lease.pid);
      if (now !== undefined && now !== lease.startTime) return true;
    }
    return false;
  }

  private expired(entry: EntryRead, now: number): boolean {
    const age = now - entry.mtimeMs;
    if (!entry.lease) return Math.abs(age) > DAMAGED_STALE_MS;
    if (entry.lease.pending && this.placerDead(entry.lease)) return true;
    // A TTL that is not a sane number (a record from elsewhere): expired, so it can always be removed.
    if (!isSaneTtl(entry.lease.ttlMs)) return true;
    return age > entry.lease.ttlMs || age < -entry.lease.ttlMs;
  }

  private view(entry: EntryRead, now: number): LeaseView {
    const { rev: _rev, pending: _pending, startTime: _startTime, ...record } = entry.lease!;
    const expired = this.expired(entry, now);
    const age = now - entry.mtimeMs;
    const unsound = recordProblem(record);
    return {
      ...record,
      backend: 'local',
      expired,
      remainingMs: expired ? 0 : Math.round(Math.min(record.ttlMs, record.ttlMs - age)),
      ...(unsound ? { unsound } : {}),
    };
  }

  /** The view of what we just wrote. */
  private freshView(lease: StoredLease): LeaseView {
    const { rev: _rev, pending: _pending, startTime: _startTime, ...record } = lease;
    return { ...record, backend: 'local', expired: false, remainingMs: record.ttlMs };
  }

  private damagedView(entry: EntryRead, resource: LeaseResource, now: number): LeaseView {
    const at = new Date(entry.mtimeMs).toISOString();
    return {
      schema_version: 1,
      resource: resource.id,
      owner: `(unreadable lease file in ${entry.dir})`,
      nonce: '',
      ttlMs: DAMAGED_STALE_MS,
      acquiredAt: at,
      renewedAt: at,
      hostname: '',
      pid: 0,
      backend: 'local',
      expired: false,
      remainingMs: Math.max(0, Math.round(DAMAGED_STALE_MS - (now - entry.mtimeMs))),
    };
  }
}
