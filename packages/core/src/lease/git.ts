/**
 * Git lease backend: leases that several machines (CI jobs) share through a
 * git remote they can all push to.
 *
 * Protocol
 * - One ref per resource: `refs/lockstep/locks/<sha256(resource.id), 64 hex>`.
 *   Its value is a commit on the empty tree whose message is the lease record
 *   as JSON (the LeaseRecord plus a `sequence` that grows on every renew, so
 *   every version is a new object and a ref never returns to an old oid).
 * - Every write is a compare-and-swap done by the remote:
 *   `git push --porcelain --force-with-lease=<ref>:<expected> <remote> <oid>:<ref>`
 *   with full 40-hex oids read by `git ls-remote`. Create: empty expected (the
 *   ref must not exist). Renew: a new version, expected = the owner's current
 *   oid. Take over an expired lease: expected = the expired oid. Release / gc:
 *   delete (`:<ref>`) expected = the oid seen. A refused lease ("stale info",
 *   or the remote refusing an update whose old value no longer matches) is a
 *   lost race, not an error.
 * - Conflicts between different resources (`resourcesConflict`: repo: vs
 *   anything, overlapping path:s) are checked AFTER creating one's own ref:
 *   list every lease ref, read the records not seen yet (fetch by oid,
 *   `cat-file --batch`), and if another owner's unexpired lease conflicts,
 *   delete one's own ref again (back off). Of two conflicting acquirers at
 *   least one sees the other, so both may back off but both never hold.
 *   Conflicting leases judged expired are deleted under a lease on the exact
 *   oid seen before they are ignored, so their holder cannot renew them later.
 * - Expiry is never read from wall clocks: an observer judges a lease expired
 *   when it has seen the same oid on the remote for ttlMs + marginMs on its
 *   own monotonic clock (process.hrtime.bigint()). Observations are kept in
 *   `<git common dir>/lockstep/observed.json` with the boot id, so later
 *   processes of the same boot continue them; after a reboot they restart.
 *   A sighting counts from when ls-remote returned; one's own write counts
 *   from before the push started (the holder's own deadline, ttlMs from then,
 *   ends before anyone else's ttlMs + marginMs).
 * - Waiting (waitMs > 0) polls every pollMs (±25 % jitter). A waiter lists
 *   first and pushes only when nothing visibly conflicts; after backing off
 *   from a collision it sleeps a random, exponentially growing time so that
 *   one of two colliding acquirers goes first. A new version of the wanted
 *   ref seen for less than the smallest possible ttl + margin is not read
 *   (it cannot have expired) until someone asks who holds it.
 * - Costs: an uncontended acquire is commit-tree + push + ls-remote; renew
 *   and release first try a CAS on the version this clone last saw (one
 *   push), listing only if that fails.
 *
 * Requirements on the remote: refs/lockstep/* may be created, force-updated
 * (versions have no parents) and deleted by every participant, and a ref
 * read after a push was acknowledged sees that push (true of a plain git
 * server; replicated hosting must offer the same).
 * Limits: SHA-1 repositories only (the empty tree and 40-hex oids). Expiry
 * uses CLOCK_MONOTONIC, which stops while a machine sleeps: an observer that
 * sleeps judges later (safe); a holder that sleeps past its TTL may find its
 * lease taken over, which its next renew reports (ELEASENOTOWNER).
 */
import { randomBytes } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ErrorCodes, LockstepError } from '../errors';
import { safeText } from '../util/display';
import { formatDuration } from '../util/duration';
import { sleep } from '../util/sleep';
import { gitCommandError, gitEnv, runGit, type GitRunOptions } from './git-exec';
import { monotonicNs, ObservationStore } from './git-observed';
import {
  commitMessage,
  LEASE_REF_PATTERN,
  LEASE_REF_PREFIX,
  leaseRefFor,
  parseCatFileBatch,
  publicRecord,
  toStoredRecord,
  type StoredLeaseRecord,
} from './git-record';
import { checkBreakReason, checkLeaseOwner, resourceFromId, resourcesConflict, type LeaseResource } from './resource';
import { MIN_LEASE_TTL_MS, checkLeaseTtl, recordProblem } from './ttl';
import type { LeaseAcquireOptions, LeaseAcquireResult, LeaseBackend, LeaseBreakResult, LeaseRecord, LeaseView } from './types';

export { LEASE_REF_PREFIX, leaseRefFor } from './git-record';

export interface GitLeaseBackendOptions {
  /** A git working tree (a clone) whose remote holds the leases. */
  cwd: string;
  /** The remote to hold leases on. Default "origin". */
  remote?: string;
  /** Extra observation time beyond the TTL before a lease counts as expired. Default: max(1 s, ttl / 10). */
  marginMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Pause between tries while an acquire waits, ±25 % jitter. Default 250 ms. */
  pollMs?: number;
  /** Where observations of the remote's leases are kept. Default `<git common dir>/lockstep`. */
  stateDir?: string;
  /** Longest one git command may take before it is stopped (EGIT). Default 120 s. */
  gitTimeoutMs?: number;
  /**
   * A holder this observer can prove gone (e.g. a run on this host whose
   * process is dead) counts as expired at once, not after ttl + margin. The
   * takeover is still a compare-and-swap on the version seen.
   */
  abandoned?: (record: LeaseRecord) => boolean;
  /** Shortest TTL accepted. Default 1 s (MIN_LEASE_TTL_MS); tests of expiry pass less. */
  minTtlMs?: number;
  /** Longest TTL accepted. Default LOCKSTEP_MAX_TTL of `env`, else 7 d. */
  maxTtlMs?: number;
}

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const OID = /^[0-9a-f]{40}$/;
const DEFAULT_POLL_MS = 250;
const DEFAULT_WAIT_REPORT_MS = 10_000;
/**
 * Refusals that mean "the ref was not at the expected value": git's own lease
 * check ("stale info"), or the remote's check of the old value under its ref
 * lock when another push got there between our read and our write
 * ("failed to update ref", "cannot lock ref …: reference already exists / is
 * at … but expected … / Unable to create ….lock").
 */
const LOST_RACE = /stale info|failed to (update|delete|lock)|cannot lock ref|reference already exists|but expected|incorrect old value|reference is missing/i;
/** How often one call retries after losing a compare-and-swap before giving up (each loss means the ref moved). */
const CAS_TRIES = 8;

/** One operation's view: the shared observations and which of them began during it. */
interface Ctx {
  store: ObservationStore;
  startedNow: Set<string>;
}

interface RefUpdate {
  ref: string;
  /** The new oid, or null to delete. */
  oid: string | null;
  /** The oid the ref must still have, or null: must not exist. */
  expect: string | null;
}

type RecordRead = StoredLeaseRecord | 'missing' | 'invalid';

type Attempt =
  | { ok: true; lease: LeaseView; renewed: boolean; tookOver?: LeaseView; ref: string; oid: string }
  | { ok: false; conflicts: LeaseView[]; unread?: { ref: string; oid: string }; backedOff?: boolean };

export class GitLeaseBackend implements LeaseBackend {
  readonly kind = 'git' as const;
  private readonly remote: string;
  private readonly env: NodeJS.ProcessEnv;
  private storePromise?: Promise<ObservationStore>;
  /** ref → resource id: fixed for a ref (its name is the hash of the id), so learnt once per process. */
  private readonly refResources = new Map<string, string>();
  /** Objects under refs/lockstep/locks/ that are not lease records: never read twice. */
  private readonly invalidOids = new Set<string>();

  constructor(readonly options: GitLeaseBackendOptions) {
    this.remote = options.remote ?? 'origin';
    if (!this.remote || this.remote.startsWith('-') || /[\s\0]/.test(this.remote)) {
      throw new LockstepError(ErrorCodes.EBADOPTIONS, `'${this.remote}' is not a usable git remote for leases.`, {
        hint: 'Pass the name of a remote of the clone (see `git remote -v`), e.g. origin.',
      });
    }
    this.env = gitEnv(options.env ?? process.env);
  }

  // ---------------------------------------------------------------- public API

  async acquire(resource: LeaseResource, options: LeaseAcquireOptions): Promise<LeaseAcquireResult> {
    checkOwner(options.owner);
    this.checkTtl(options.ttlMs);
    const waitMs = Math.max(0, options.waitMs ?? 0);
    const pollMs = Math.max(1, options.pollMs ?? this.options.pollMs ?? DEFAULT_POLL_MS);
    const reportMs = Math.max(1, options.waitReportMs ?? DEFAULT_WAIT_REPORT_MS);
    const started = performance.now();
    let lastReport: number | undefined;
    let collisions = 0;
    for (let tries = 0; ; tries++) {
      if (options.signal?.aborted) throw aborted(resource, options.signal);
      const ctx = await this.begin();
      let outcome: Attempt;
      try {
        outcome = await this.attempt(ctx, resource, options, tries === 0);
      } finally {
        await ctx.store.save();
      }
      const waitedMs = Math.round(performance.now() - started);
      if (outcome.ok) {
        if (options.signal?.aborted && !outcome.renewed) {
          // Asked to stop while the lease was being taken: do not leave it behind.
          const ctx2 = await this.begin();
          try {
            await this.push(ctx2, [{ ref: outcome.ref, oid: null, expect: outcome.oid }]);
          } finally {
            await ctx2.store.save();
          }
          throw aborted(resource, options.signal);
        }
        return { lease: outcome.lease, renewed: outcome.renewed, ...(outcome.tookOver ? { tookOver: outcome.tookOver } : {}), waitedMs };
      }
      if (waitedMs >= waitMs) throw this.conflictError(resource, await this.conflictViews(outcome), waitMs);
      const now = performance.now();
      if (lastReport === undefined || now - lastReport >= reportMs) {
        lastReport = now;
        if (options.onWait) options.onWait({ resource: resource.id, conflicts: await this.conflictViews(outcome), waitedMs });
      }
      // Backed off after a collision with a conflicting acquirer that may have backed off too:
      // randomised exponential backoff so that one of the two goes first next time.
      collisions = outcome.backedOff ? collisions + 1 : 0;
      const wanted = collisions > 0 ? pollMs * Math.random() * 2 ** Math.min(collisions, 5) : pollMs * (0.75 + Math.random() * 0.5);
      const pause = Math.max(0, Math.min(wanted, waitMs - waitedMs));
      try {
        await sleep(pause, options.signal);
      } catch {
        throw aborted(resource, options.signal);
      }
    }
  }

  async renew(resource: LeaseResource, options: { owner: string; ttlMs?: number }): Promise<LeaseView> {
    checkOwner(options.owner);
    if (options.ttlMs !== undefined) this.checkTtl(options.ttlMs);
    const ref = leaseRefFor(resource.id);
    const ctx = await this.begin();
    try {
      for (let i = 0; i < CAS_TRIES; i++) {
        // First try our own last version as this clone saw it (no ls-remote); the CAS refuses it if stale.
        const guess = i === 0 ? this.ownVersion(ctx, ref, options.owner) : undefined;
        const current = guess?.oid ?? (await this.lsRemote(ctx, [ref])).get(ref);
        if (!current) throw notHeld(resource);
        const record = guess?.record ?? (await this.recordOf(ctx, ref, current));
        if (record === 'missing') continue; // moved on while we read it: look again
        if (record === 'invalid' || record.owner !== options.owner) throw notOwner(resource, options.owner, record, 'renew');
        const next = renewedRecord(record, options.ttlMs);
        const oid = await this.pushRecord(ctx, ref, next, current);
        if (oid) return this.view(ctx, ref, oid, next);
      }
      throw busy(resource, 'renew');
    } finally {
      await ctx.store.save();
    }
  }

  async release(resource: LeaseResource, options: { owner: string }): Promise<{ released: boolean; lease?: LeaseView }> {
    checkOwner(options.owner);
    const ref = leaseRefFor(resource.id);
    const ctx = await this.begin();
    try {
      for (let i = 0; i < CAS_TRIES; i++) {
        const guess = i === 0 ? this.ownVersion(ctx, ref, options.owner) : undefined;
        const current = guess?.oid ?? (await this.lsRemote(ctx, [ref])).get(ref);
        if (!current) return { released: false };
        const record = guess?.record ?? (await this.recordOf(ctx, ref, current));
        if (record === 'missing') continue;
        if (record === 'invalid' || record.owner !== options.owner) throw notOwner(resource, options.owner, record, 'release');
        const lease = this.view(ctx, ref, current, record);
        const result = await this.push(ctx, [{ ref, oid: null, expect: current }]);
        if (result.get(ref)) return { released: true, lease };
      }
      throw busy(resource, 'release');
    } finally {
      await ctx.store.save();
    }
  }

  async status(resource?: LeaseResource): Promise<LeaseView[]> {
    const ctx = await this.begin();
    try {
      return (await this.allLeases(ctx))
        .filter((l) => !resource || resourcesConflict(resource, l.resource))
        .map((l) => l.view)
        .sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
    } finally {
      await ctx.store.save();
    }
  }

  async gc(): Promise<{ removed: LeaseView[] }> {
    const ctx = await this.begin();
    try {
      const expired = (await this.allLeases(ctx)).filter((l) => l.view.expired);
      if (expired.length === 0) return { removed: [] };
      const result = await this.push(
        ctx,
        expired.map((l) => ({ ref: l.ref, oid: null, expect: l.oid })),
      );
      return { removed: expired.filter((l) => result.get(l.ref)).map((l) => l.view) };
    } finally {
      await ctx.store.save();
    }
  }

  /**
   * Deletes the ref of `resource` whoever holds it, under a lease on the oid
   * read (`--force-with-lease=<ref>:<oid>`): a newer version pushed after the
   * read is never deleted (ELEASECONFLICT naming it instead). An unreadable
   * record under the ref is removed too.
   */
  async break(resource: LeaseResource, options: { reason: string }): Promise<LeaseBreakResult> {
    checkBreakReason(options?.reason);
    const ref = leaseRefFor(resource.id);
    const ctx = await this.begin();
    try {
      for (let i = 0; i < CAS_TRIES; i++) {
        const current = (await this.lsRemote(ctx, [ref])).get(ref);
        if (!current) return { broken: false };
        const record = await this.recordOf(ctx, ref, current);
        if (record === 'missing') continue; // moved on before it could be read: nothing decided yet, look again
        const holder = this.view(ctx, ref, current, record === 'invalid' ? unreadableRecord(resource, 1) : record);
        const result = await this.push(ctx, [{ ref, oid: null, expect: current }]);
        if (result.get(ref)) return { broken: true, holder };
        const now = (await this.lsRemote(ctx, [ref])).get(ref);
        const next = now ? await this.recordOf(ctx, ref, now) : undefined;
        throw changedWhileBreaking(resource, holder, now && typeof next === 'object' ? this.view(ctx, ref, now, next) : undefined);
      }
      throw busy(resource, 'break');
    } finally {
      await ctx.store.save();
    }
  }

  // ------------------------------------------------------------- acquire core

  private checkTtl(ttlMs: number): number {
    return checkLeaseTtl(ttlMs, { minMs: this.options.minTtlMs ?? MIN_LEASE_TTL_MS, maxMs: this.options.maxTtlMs, env: this.options.env });
  }

  /**
   * One try. The first try is optimistic (push a create without looking);
   * later tries list the remote first and do not touch it while a conflict is
   * visible.
   */
  private async attempt(ctx: Ctx, resource: LeaseResource, options: LeaseAcquireOptions, first: boolean): Promise<Attempt> {
    const ref = leaseRefFor(resource.id);
    let current: string | undefined;
    if (!first) {
      const listing = await this.lsRemote(ctx);
      current = listing.get(ref);
      const seen = await this.conflictsIn(ctx, resource, options.owner, ref, listing);
      if (seen.conflicts.length > 0) return { ok: false, conflicts: seen.conflicts };
    }
    let mine: { oid: string; record: StoredLeaseRecord } | undefined;
    let tookOver: LeaseView | undefined;
    for (let i = 0; i < CAS_TRIES && !mine; i++) {
      if (current === undefined) {
        const record = newRecord(resource, options.owner, options.ttlMs);
        const oid = await this.pushRecord(ctx, ref, record, null);
        if (oid) mine = { oid, record };
        else current = (await this.lsRemote(ctx, [ref])).get(ref);
        continue;
      }
      if (!first && this.tooYoungToExpire(ctx, ref, current)) {
        // Waiting: a version we first saw less than a margin ago cannot have expired, whatever its TTL.
        // Its record is read only when someone asks who holds it (saves a fetch per new holder per poll).
        return { ok: false, conflicts: [], unread: { ref, oid: current } };
      }
      const held = await this.recordOf(ctx, ref, current);
      if (held === 'missing') {
        current = (await this.lsRemote(ctx, [ref])).get(ref);
        continue;
      }
      if (held !== 'invalid' && held.owner === options.owner) {
        // Ours already (this or another process of the same owner): renew it, same nonce.
        const next = renewedRecord(held, options.ttlMs);
        const oid = await this.pushRecord(ctx, ref, next, current);
        if (oid) return { ok: true, lease: this.view(ctx, ref, oid, next), renewed: true, ref, oid };
        current = (await this.lsRemote(ctx, [ref])).get(ref);
        continue;
      }
      const holder = this.view(ctx, ref, current, held === 'invalid' ? unreadableRecord(resource, options.ttlMs) : held);
      if (!holder.expired) return { ok: false, conflicts: [holder] };
      // Expired as we judge it: replace exactly the version we watched expire.
      const record = newRecord(resource, options.owner, options.ttlMs);
      const oid = await this.pushRecord(ctx, ref, record, current);
      if (oid) {
        mine = { oid, record };
        tookOver = holder;
      } else {
        current = (await this.lsRemote(ctx, [ref])).get(ref);
      }
    }
    if (!mine) {
      const holder = current ? await this.recordOf(ctx, ref, current) : undefined;
      return { ok: false, conflicts: holder && typeof holder === 'object' ? [this.view(ctx, ref, current!, holder)] : [] };
    }
    let conflicts: LeaseView[];
    try {
      conflicts = await this.checkAfterCreate(ctx, resource, options.owner, ref);
    } catch (error) {
      await this.push(ctx, [{ ref, oid: null, expect: mine.oid }]).catch(() => undefined);
      throw error;
    }
    if (conflicts.length > 0) {
      // Back off: someone else's lease is in the way. Delete only our own version.
      await this.push(ctx, [{ ref, oid: null, expect: mine.oid }]);
      return { ok: false, conflicts, backedOff: true };
    }
    return { ok: true, lease: this.view(ctx, ref, mine.oid, mine.record), renewed: false, ...(tookOver ? { tookOver } : {}), ref, oid: mine.oid };
  }

  /** True when `ref` has been seen at `oid` for less than the smallest possible ttl + margin and its record is not at hand. */
  private tooYoungToExpire(ctx: Ctx, ref: string, oid: string): boolean {
    const seen = ctx.store.get(ref);
    if (!seen || seen.oid !== oid || seen.record) return false;
    const floorMs = this.options.marginMs ?? 1000; // ttl > 0, and the default margin is at least 1 s
    return Number(monotonicNs() - seen.since) / 1e6 < floorMs;
  }

  /** The conflicts of a failed try, reading the holder's record if the try skipped it. */
  private async conflictViews(outcome: { conflicts: LeaseView[]; unread?: { ref: string; oid: string } }): Promise<LeaseView[]> {
    if (!outcome.unread) return outcome.conflicts;
    const { ref, oid } = outcome.unread;
    const ctx = await this.begin();
    try {
      const record = await this.recordOf(ctx, ref, oid);
      return typeof record === 'object' ? [this.view(ctx, ref, oid, record)] : outcome.conflicts;
    } finally {
      await ctx.store.save();
    }
  }

  /** With our own ref in place: list everything and look for other owners' conflicting leases. */
  private async checkAfterCreate(ctx: Ctx, resource: LeaseResource, owner: string, ownRef: string): Promise<LeaseView[]> {
    for (let round = 0; round < CAS_TRIES; round++) {
      const listing = await this.lsRemote(ctx);
      const found = await this.conflictsIn(ctx, resource, owner, ownRef, listing);
      if (found.conflicts.length > 0) return found.conflicts;
      let settled = !found.missing;
      if (found.expired.length > 0) {
        // An expired conflicting lease is removed (by CAS on the version seen) before it is ignored,
        // so its holder cannot renew it afterwards. Losing that CAS means it changed: look again.
        const result = await this.push(
          ctx,
          found.expired.map((e) => ({ ref: e.ref, oid: null, expect: e.oid })),
        );
        if (found.expired.some((e) => !result.get(e.ref))) settled = false;
      }
      if (settled) return [];
    }
    // The leases kept changing under us: be safe and back off.
    return [this.view(ctx, ownRef, '', unreadableRecord(resource, 1, '(unknown: the leases kept changing)'))];
  }

  /** Other owners' leases in `listing` that conflict with `resource`, split into live and expired. */
  private async conflictsIn(
    ctx: Ctx,
    resource: LeaseResource,
    owner: string,
    ownRef: string,
    listing: Map<string, string>,
  ): Promise<{ conflicts: LeaseView[]; expired: { ref: string; oid: string; view: LeaseView }[]; missing: boolean }> {
    // A ref whose resource we already know and which cannot conflict needs no read, whatever its version.
    const others = [...listing].filter(([ref]) => {
      if (ref === ownRef) return false;
      const id = this.refResources.get(ref) ?? ctx.store.get(ref)?.record?.resource;
      const known = id === undefined ? undefined : safeResource(id);
      return !known || resourcesConflict(resource, known);
    });
    const records = await this.records(ctx, others);
    const conflicts: LeaseView[] = [];
    const expired: { ref: string; oid: string; view: LeaseView }[] = [];
    let missing = false;
    for (const [ref, oid] of others) {
      const record = records.get(ref);
      if (record === 'missing') missing = true;
      if (!record || typeof record !== 'object' || record.owner === owner) continue;
      const theirs = safeResource(record.resource);
      if (!theirs || !resourcesConflict(resource, theirs)) continue;
      const view = this.view(ctx, ref, oid, record);
      if (view.expired) expired.push({ ref, oid, view });
      else conflicts.push(view);
    }
    return { conflicts, expired, missing };
  }

  private async allLeases(ctx: Ctx): Promise<{ ref: string; oid: string; resource: LeaseResource; view: LeaseView }[]> {
    let listing = await this.lsRemote(ctx);
    let records = await this.records(ctx, [...listing]);
    if ([...records.values()].includes('missing')) {
      // Some lease moved on between listing and reading: list once more.
      listing = await this.lsRemote(ctx);
      records = await this.records(ctx, [...listing]);
    }
    const out: { ref: string; oid: string; resource: LeaseResource; view: LeaseView }[] = [];
    for (const [ref, oid] of listing) {
      const record = records.get(ref);
      if (!record || typeof record !== 'object') continue;
      const resource = safeResource(record.resource);
      if (resource) out.push({ ref, oid, resource, view: this.view(ctx, ref, oid, record) });
    }
    return out;
  }

  // -------------------------------------------------------------- observation

  /** The version of `ref` this clone last saw, if it is `owner`'s: a guess to try a CAS on before listing. */
  private ownVersion(ctx: Ctx, ref: string, owner: string): { oid: string; record: StoredLeaseRecord } | undefined {
    const seen = ctx.store.get(ref);
    return seen?.record && seen.record.owner === owner ? { oid: seen.oid, record: seen.record } : undefined;
  }

  private marginFor(ttlMs: number): number {
    return this.options.marginMs ?? Math.max(1000, Math.round(ttlMs / 10));
  }

  /** The lease as this observer judges it: expired once the same oid was seen for ttl + margin. */
  private view(ctx: Ctx, ref: string, oid: string, record: StoredLeaseRecord): LeaseView {
    const base: LeaseView = { ...publicRecord(record), backend: 'git', expired: false };
    // A record whose TTL is not a sane number: expired, so it can always be taken over and collected.
    const unsound = recordProblem(record);
    if (unsound) return { ...base, expired: true, remainingMs: 0, unsound };
    if (this.options.abandoned?.(publicRecord(record))) return { ...base, expired: true, remainingMs: 0 };
    const seen = ctx.store.get(ref);
    if (!seen || seen.oid !== oid) return base;
    const limitMs = record.ttlMs + this.marginFor(record.ttlMs);
    const seenMs = Number(monotonicNs() - seen.since) / 1e6;
    base.expired = seenMs >= limitMs;
    if (!ctx.startedNow.has(ref)) base.remainingMs = Math.max(0, Math.ceil(limitMs - seenMs));
    return base;
  }

  private async begin(): Promise<Ctx> {
    const store = await this.store();
    await store.load();
    return { store, startedNow: new Set() };
  }

  private store(): Promise<ObservationStore> {
    if (!this.storePromise) {
      this.storePromise = (async () => {
        let dir = this.options.stateDir;
        if (!dir) {
          const out = await this.git(['rev-parse', '--git-common-dir']);
          dir = path.join(path.resolve(this.options.cwd, out.stdout.trim()), 'lockstep');
        }
        return new ObservationStore(path.join(dir, 'observed.json'), this.remote);
      })();
      this.storePromise.catch(() => (this.storePromise = undefined));
    }
    return this.storePromise;
  }

  // ---------------------------------------------------------------------- git

  private git(args: string[], extra: Partial<GitRunOptions> = {}) {
    return runGit(args, { cwd: this.options.cwd, env: this.env, timeoutMs: this.options.gitTimeoutMs ?? 120_000, ...extra });
  }

  /**
   * `git ls-remote`: every lease ref (refs omitted) or just `refs`. Each
   * sighting is recorded as an observation dated when the answer arrived.
   */
  private async lsRemote(ctx: Ctx, refs?: string[]): Promise<Map<string, string>> {
    const out = await this.git(['ls-remote', this.remote, ...(refs ?? [`${LEASE_REF_PREFIX}*`])]);
    const at = monotonicNs();
    const listing = new Map<string, string>();
    for (const line of out.stdout.split('\n')) {
      const [oid, ref] = line.split('\t');
      if (!ref || !OID.test(oid) || !LEASE_REF_PATTERN.test(ref)) continue;
      if (refs && !refs.includes(ref)) continue;
      listing.set(ref, oid);
      if (ctx.store.observe(ref, oid, at)) ctx.startedNow.add(ref);
    }
    if (refs) {
      for (const ref of refs) if (!listing.has(ref)) ctx.store.forget(ref);
    } else {
      ctx.store.retainOnly(new Set(listing.keys()));
    }
    return listing;
  }

  private async recordOf(ctx: Ctx, ref: string, oid: string): Promise<RecordRead> {
    return (await this.records(ctx, [[ref, oid]])).get(ref) ?? 'missing';
  }

  /** The records behind (ref, oid) pairs: from the cache, the local object store, or fetched by oid. */
  private async records(ctx: Ctx, wanted: [string, string][]): Promise<Map<string, RecordRead>> {
    const out = new Map<string, RecordRead>();
    const need: [string, string][] = [];
    for (const [ref, oid] of wanted) {
      const seen = ctx.store.get(ref);
      if (seen?.oid === oid && seen.record) {
        out.set(ref, seen.record);
        this.refResources.set(ref, seen.record.resource);
      } else if (this.invalidOids.has(oid)) out.set(ref, 'invalid');
      else need.push([ref, oid]);
    }
    if (need.length === 0) return out;
    const oids = [...new Set(need.map(([, oid]) => oid))];
    const bodies = await this.catFile(oids);
    const absent = oids.filter((oid) => !bodies.has(oid));
    if (absent.length > 0) {
      await this.fetchObjects(absent);
      for (const [oid, body] of await this.catFile(absent)) bodies.set(oid, body);
    }
    for (const [ref, oid] of need) {
      const body = bodies.get(oid);
      if (body === undefined) {
        out.set(ref, 'missing');
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(commitMessage(body));
      } catch {
        parsed = undefined;
      }
      const record = toStoredRecord(parsed, ref);
      if (!record) {
        this.invalidOids.add(oid);
        out.set(ref, 'invalid');
        continue;
      }
      this.refResources.set(ref, record.resource);
      ctx.store.setRecord(ref, oid, record);
      out.set(ref, record);
    }
    return out;
  }

  private async catFile(oids: string[]): Promise<Map<string, string>> {
    const res = await this.git(['cat-file', '--batch'], { input: oids.join('\n') + '\n', binary: true });
    return parseCatFileBatch(res.stdoutBytes ?? Buffer.alloc(0));
  }

  /** Fetches lease objects by oid (no refs are written). An oid the remote no longer has stays missing. */
  private async fetchObjects(oids: string[]): Promise<void> {
    const fetch = (list: string[]) =>
      this.git(['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', this.remote, ...list], {
        okCodes: [0, 1, 128],
      });
    const gone = (stderr: string) => /not our ref|unadvertised object|couldn't find remote ref|no such remote ref/i.test(stderr);
    const res = await fetch(oids);
    if (res.code === 0) return;
    if (!gone(res.stderr)) throw gitCommandError('git fetch', `exit code ${res.code}`, res.stderr, this.options.cwd);
    // One of them is gone (its ref moved on): fetch the others one by one.
    if (oids.length === 1) return;
    for (const oid of oids) {
      const one = await fetch([oid]);
      if (one.code !== 0 && !gone(one.stderr)) throw gitCommandError('git fetch', `exit code ${one.code}`, one.stderr, this.options.cwd);
    }
  }

  /** Writes `record` as a new commit and pushes it to `ref` if the ref is still `expect`. Returns the new oid, or undefined when the race was lost. */
  private async pushRecord(ctx: Ctx, ref: string, record: StoredLeaseRecord, expect: string | null): Promise<string | undefined> {
    const seconds = Math.floor(Date.now() / 1000);
    const date = `@${seconds} +0000`;
    const made = await this.git(['commit-tree', EMPTY_TREE, '-m', JSON.stringify(record)], {
      env: { ...this.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    });
    const oid = made.stdout.trim();
    if (!OID.test(oid)) throw gitCommandError('git commit-tree', `unexpected output '${oid.slice(0, 80)}'`, made.stderr, this.options.cwd);
    const result = await this.push(ctx, [{ ref, oid, expect }]);
    if (!result.get(ref)) return undefined;
    ctx.store.setRecord(ref, oid, record);
    return oid;
  }

  /**
   * One `git push` of compare-and-swap updates. true per ref: done; false:
   * the ref was not at `expect` (a lost race). Anything else is EGIT.
   */
  private async push(ctx: Ctx, updates: RefUpdate[]): Promise<Map<string, boolean>> {
    const before = monotonicNs();
    const args = [
      'push',
      '--porcelain',
      '--no-verify', // no pre-push hooks (a repository's test runs) for a lease
      '--no-signed',
      '--no-follow-tags',
      '--no-recurse-submodules',
      ...updates.map((u) => `--force-with-lease=${u.ref}:${u.expect ?? ''}`),
      this.remote,
      ...updates.map((u) => `${u.oid ?? ''}:${u.ref}`),
    ];
    const res = await this.git(args, { okCodes: [0, 1] });
    const lines = new Map<string, { flag: string; summary: string }>();
    for (const line of res.stdout.split('\n')) {
      const m = /^(.)\t[^\t]*:([^\t]+)\t(.*)$/.exec(line);
      if (m) lines.set(m[2], { flag: m[1], summary: m[3] });
    }
    const result = new Map<string, boolean>();
    const unclear: { update: RefUpdate; summary: string }[] = [];
    for (const u of updates) {
      const line = lines.get(u.ref);
      if (!line) throw gitCommandError('git push', `exit code ${res.code}`, res.stderr, this.options.cwd);
      if (line.flag !== '!') result.set(u.ref, true);
      else if (LOST_RACE.test(line.summary)) result.set(u.ref, false);
      else unclear.push({ update: u, summary: line.summary });
    }
    if (unclear.length > 0) {
      // Refused for another reason (a hook, permissions, a deny* setting). If the ref is no longer
      // what we expected, we lost a race anyway; if it still is, the remote refuses us.
      const now = await this.lsRemote(
        ctx,
        unclear.map((u) => u.update.ref),
      );
      for (const { update, summary } of unclear) {
        if ((now.get(update.ref) ?? null) !== update.expect) result.set(update.ref, false);
        else throw gitCommandError('git push', summary, `${res.stderr}\n${summary}`, this.options.cwd);
      }
    }
    for (const u of updates) {
      if (!result.get(u.ref)) continue;
      if (u.oid) {
        // Our own write counts from before the push began: no observer can have seen it earlier.
        ctx.store.observe(u.ref, u.oid, before);
      } else {
        ctx.store.forget(u.ref);
      }
    }
    return result;
  }

  // ------------------------------------------------------------------ errors

  private conflictError(resource: LeaseResource, conflicts: LeaseView[], waitMs: number): LockstepError {
    const c = conflicts[0];
    const id = safeText(resource.id, 300);
    const waited = waitMs > 0 ? ` (waited ${formatDuration(waitMs)})` : '';
    if (!c) {
      return new LockstepError(ErrorCodes.ELEASECONFLICT, `Could not take the lease on ${id}: it kept changing hands${waited}.`, {
        hint: 'Other owners are taking and releasing it right now. Wait for it with a wait timeout (waitMs / --wait).',
      });
    }
    const on = c.resource !== resource.id ? ` through its lease on ${safeText(c.resource, 300)}` : '';
    const more = conflicts.length > 1 ? ` and ${conflicts.length - 1} more conflicting lease(s)` : '';
    const left = c.remainingMs !== undefined ? `It expires in about ${formatDuration(c.remainingMs)} as seen from here unless renewed. ` : '';
    return new LockstepError(
      ErrorCodes.ELEASECONFLICT,
      `${id} is held by ${describeHolder(c)}${on}${more}${waited}.`,
      {
        hint:
          `${left}Wait for it with a wait timeout (waitMs / --wait), or ask ${safeText(c.owner)} to release it. ` +
          `A lease whose holder died expires once this machine has seen it unchanged for its TTL (${formatDuration(c.ttlMs)}) plus a margin of ${formatDuration(this.marginFor(c.ttlMs))}; ` +
          `'lockstep lock break --resource ${id} --reason "…"' removes it now.`,
      },
    );
  }
}

// -------------------------------------------------------------------- helpers

function newRecord(resource: LeaseResource, owner: string, ttlMs: number): StoredLeaseRecord {
  const now = new Date().toISOString();
  return {
    schema_version: 1,
    resource: resource.id,
    owner,
    nonce: randomBytes(16).toString('hex'),
    ttlMs,
    acquiredAt: now,
    renewedAt: now,
    hostname: os.hostname(),
    pid: process.pid,
    sequence: 0,
  };
}

function renewedRecord(previous: StoredLeaseRecord, ttlMs?: number): StoredLeaseRecord {
  return {
    ...previous,
    ttlMs: ttlMs ?? previous.ttlMs,
    renewedAt: new Date().toISOString(),
    hostname: os.hostname(),
    pid: process.pid,
    sequence: previous.sequence + 1,
  };
}

/** Stand-in for a ref whose object is not a lease record: it blocks until it expires like any lease. */
function unreadableRecord(resource: LeaseResource, ttlMs: number, owner = '(unreadable lease record)'): StoredLeaseRecord {
  return { schema_version: 1, resource: resource.id, owner, nonce: '', ttlMs, acquiredAt: '?', renewedAt: '?', hostname: '?', pid: 0, sequence: 0 };
}

function safeResource(id: string): LeaseResource | undefined {
  try {
    return resourceFromId(id);
  } catch {
    return undefined;
  }
}

function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.trim() === '') {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, 'A lease needs an owner.', {
      hint: 'Pass --owner, set LOCKSTEP_OWNER, or let it default to <user>@<host>.',
    });
  }
  checkLeaseOwner(owner);
}

/**
 * "alice (host ci-3, pid 12, acquired 2024-…)"; a stand-in (unreadable record,
 * leases that kept changing) has no host to name. The record comes from the
 * remote, i.e. from anyone who can push: escaped and cut.
 */
function describeHolder(c: Pick<LeaseRecord, 'owner' | 'hostname' | 'pid' | 'acquiredAt'>): string {
  if (c.hostname === '?') return safeText(c.owner);
  return `${safeText(c.owner)} (host ${safeText(c.hostname, 64)}, pid ${safeText(c.pid, 20)}, acquired ${safeText(c.acquiredAt, 40)})`;
}

function changedWhileBreaking(resource: LeaseResource, seen: LeaseView, now: LeaseView | undefined): LockstepError {
  const id = safeText(resource.id, 300);
  return new LockstepError(
    ErrorCodes.ELEASECONFLICT,
    `The lease on ${id} changed on the remote while it was being broken (it was held by ${describeHolder(seen)}${now ? `; now by ${describeHolder(now)}` : ''}): nothing was removed.`,
    { hint: `Look again with 'lockstep lock status --resource ${id} --backend git' and run lock break again if that is still the lease to break.` },
  );
}

function aborted(resource: LeaseResource, signal?: AbortSignal): LockstepError {
  const reason = signal?.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new LockstepError(ErrorCodes.EABORTED, `Stopped waiting for the lease on ${safeText(resource.id, 300)}${reason}.`, {
    hint: 'The wait was cancelled (signal or Ctrl-C); this call holds no lease. Run again to wait once more.',
  });
}

function notHeld(resource: LeaseResource): LockstepError {
  return new LockstepError(ErrorCodes.ELEASENOTHELD, `Nobody holds a lease on ${safeText(resource.id, 300)}, so it cannot be renewed.`, {
    hint: 'It was never acquired, was released, or expired and was removed (gc or a takeover). Acquire it again, and renew well within the TTL.',
  });
}

function notOwner(resource: LeaseResource, owner: string, record: StoredLeaseRecord | 'invalid', action: 'renew' | 'release'): LockstepError {
  const holder = record === 'invalid' ? 'an unreadable record' : describeHolder(record);
  return new LockstepError(ErrorCodes.ELEASENOTOWNER, `Cannot ${action} the lease on ${safeText(resource.id, 300)}: it is held by ${holder}, not by ${safeText(owner)}.`, {
    hint: `Only the owner that acquired a lease can ${action} it. Use the same owner as the acquire (--owner or LOCKSTEP_OWNER); if the holder is gone, its lease expires after its TTL plus a margin and gc removes it.`,
  });
}

function busy(resource: LeaseResource, action: string): LockstepError {
  return new LockstepError(ErrorCodes.ELEASECONFLICT, `Could not ${action} the lease on ${safeText(resource.id, 300)}: it changed on the remote ${CAS_TRIES} times in a row.`, {
    hint: 'Several processes of this owner are writing the same lease at once; run the command again.',
  });
}
