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
import { type LeaseTtlOptions, acquireWithWait, checkAcquire, checkLeaseResource, checkRelease, checkRenew } from './base';
import { sortLeaseViews } from './describe';
import { gitRemoteNameError, leaseBusyError, leaseChangedWhileBreakingError, leaseConflictError, leaseNotHeldError, leaseNotOwnerError } from './errors';
import { type ExpiryRules, expiryInWords, observedView, tooYoungToExpire } from './git-expiry';
import { type Ctx, LeaseRemote } from './git-remote';
import { leaseRefFor, newRecord, renewedRecord, unreadableRecord, type StoredLeaseRecord } from './git-record';
import { checkBreakReason, resourceFromId, resourcesConflict, type LeaseResource } from './resource';
import type { LeaseAcquireOptions, LeaseAcquireResult, LeaseBackend, LeaseBreakResult, LeaseRecord, LeaseView } from './types';

export { LEASE_REF_PREFIX, leaseRefFor } from './git-record';

export interface GitLeaseBackendOptions extends LeaseTtlOptions {
  /** A git working tree (a clone) whose remote holds the leases. */
  cwd: string;
  /** The remote to hold leases on. Default "origin". */
  remote?: string;
  /** Extra observation time beyond the TTL before a lease counts as expired. Default: max(1 s, ttl / 10). */
  marginMs?: number;
  /** Also the environment whose LOCKSTEP_MAX_TTL sets the longest TTL. */
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
}

const DEFAULT_POLL_MS = 250;
/** How often one call retries after losing a compare-and-swap before giving up (each loss means the ref moved). */
const CAS_TRIES = 8;

type Taken = { lease: LeaseView; renewed: boolean; tookOver?: LeaseView; ref: string; oid: string };
type Failed = { conflicts: LeaseView[]; unread?: { ref: string; oid: string }; backedOff?: boolean };
type Attempt = ({ ok: true } & Taken) | ({ ok: false } & Failed);

export class GitLeaseBackend implements LeaseBackend {
  readonly kind = 'git' as const;
  private readonly remote: LeaseRemote;
  private readonly expiry: ExpiryRules;

  constructor(readonly options: GitLeaseBackendOptions) {
    const remote = options.remote ?? 'origin';
    if (!remote || remote.startsWith('-') || /[\s\0]/.test(remote)) throw gitRemoteNameError(remote);
    this.remote = new LeaseRemote({ cwd: options.cwd, remote, env: options.env ?? process.env, stateDir: options.stateDir, gitTimeoutMs: options.gitTimeoutMs });
    this.expiry = { marginMs: options.marginMs, abandoned: options.abandoned };
  }

  // ---------------------------------------------------------------- public API

  async acquire(resource: LeaseResource, options: LeaseAcquireOptions): Promise<LeaseAcquireResult> {
    const { owner, ttlMs, waitMs } = checkAcquire(resource, options, this.options, this.options.env);
    const { taken, waitedMs } = await acquireWithWait<Taken>({
      resource,
      options,
      waitMs,
      defaultPollMs: this.options.pollMs ?? DEFAULT_POLL_MS,
      jitter: 0.25,
      attempt: async (round) => {
        const outcome = await this.remote.session((ctx) => this.attempt(ctx, resource, owner, ttlMs, round === 0));
        return outcome.ok ? { taken: outcome, renewed: outcome.renewed } : outcome;
      },
      describe: (failed) => this.conflictViews(failed),
      abandon: async (mine) => {
        await this.remote.session((ctx) => this.remote.deleteRef(ctx, mine.ref, mine.oid));
      },
      conflictError: (conflicts, waited) =>
        leaseConflictError(resource, conflicts, { backend: 'git', waitedMs: waited, expiry: conflicts[0] ? expiryInWords(conflicts[0].ttlMs, this.expiry) : undefined }),
    });
    return { lease: taken.lease, renewed: taken.renewed, ...(taken.tookOver ? { tookOver: taken.tookOver } : {}), waitedMs };
  }

  async renew(resource: LeaseResource, options: { owner: string; ttlMs?: number }): Promise<LeaseView> {
    const { owner, ttlMs } = checkRenew(resource, options, this.options, this.options.env);
    const ref = leaseRefFor(resource.id);
    return this.remote.session(async (ctx) => {
      for (let i = 0; i < CAS_TRIES; i++) {
        // First try our own last version as this clone saw it (no ls-remote); the CAS refuses it if stale.
        const guess = i === 0 ? this.ownVersion(ctx, ref, owner) : undefined;
        const current = guess?.oid ?? (await this.remote.current(ctx, ref));
        if (!current) throw leaseNotHeldError(resource);
        const record = guess?.record ?? (await this.remote.recordOf(ctx, ref, current));
        if (record === 'missing') continue; // moved on while we read it: look again
        if (record === 'invalid' || record.owner !== owner) throw leaseNotOwnerError(resource, owner, this.holderView(ctx, ref, current, record), 'renew');
        const next = renewedRecord(record, ttlMs);
        const oid = await this.remote.pushRecord(ctx, ref, next, current);
        if (oid) return this.view(ctx, ref, oid, next);
      }
      throw leaseBusyError(resource, 'renew');
    });
  }

  async release(resource: LeaseResource, options: { owner: string }): Promise<{ released: boolean; lease?: LeaseView }> {
    const { owner } = checkRelease(resource, options);
    const ref = leaseRefFor(resource.id);
    return this.remote.session(async (ctx) => {
      for (let i = 0; i < CAS_TRIES; i++) {
        const guess = i === 0 ? this.ownVersion(ctx, ref, owner) : undefined;
        const current = guess?.oid ?? (await this.remote.current(ctx, ref));
        if (!current) return { released: false };
        const record = guess?.record ?? (await this.remote.recordOf(ctx, ref, current));
        if (record === 'missing') continue;
        if (record === 'invalid' || record.owner !== owner) throw leaseNotOwnerError(resource, owner, this.holderView(ctx, ref, current, record), 'release');
        const lease = this.view(ctx, ref, current, record);
        if (await this.remote.deleteRef(ctx, ref, current)) return { released: true, lease };
      }
      throw leaseBusyError(resource, 'release');
    });
  }

  async status(resource?: LeaseResource): Promise<LeaseView[]> {
    if (resource) checkLeaseResource(resource);
    return this.remote.session(async (ctx) =>
      sortLeaseViews((await this.allLeases(ctx)).filter((l) => !resource || resourcesConflict(resource, l.resource)).map((l) => l.view)),
    );
  }

  async gc(): Promise<{ removed: LeaseView[] }> {
    return this.remote.session(async (ctx) => {
      const expired = (await this.allLeases(ctx)).filter((l) => l.view.expired);
      if (expired.length === 0) return { removed: [] };
      const result = await this.remote.push(
        ctx,
        expired.map((l) => ({ ref: l.ref, oid: null, expect: l.oid })),
      );
      return { removed: expired.filter((l) => result.get(l.ref)).map((l) => l.view) };
    });
  }

  /**
   * Deletes the ref of `resource` whoever holds it, under a lease on the oid
   * read (`--force-with-lease=<ref>:<oid>`): a newer version pushed after the
   * read is never deleted (ELEASECONFLICT naming it instead). An unreadable
   * record under the ref is removed too.
   */
  async break(resource: LeaseResource, options: { reason: string }): Promise<LeaseBreakResult> {
    checkLeaseResource(resource);
    checkBreakReason(options?.reason);
    const ref = leaseRefFor(resource.id);
    return this.remote.session(async (ctx) => {
      for (let i = 0; i < CAS_TRIES; i++) {
        const current = await this.remote.current(ctx, ref);
        if (!current) return { broken: false };
        const record = await this.remote.recordOf(ctx, ref, current);
        if (record === 'missing') continue; // moved on before it could be read: nothing decided yet, look again
        const holder = this.view(ctx, ref, current, record === 'invalid' ? unreadableRecord(resource, 1) : record);
        if (await this.remote.deleteRef(ctx, ref, current)) return { broken: true, holder };
        const now = await this.remote.current(ctx, ref);
        const next = now ? await this.remote.recordOf(ctx, ref, now) : undefined;
        throw leaseChangedWhileBreakingError(resource, holder, now && typeof next === 'object' ? this.view(ctx, ref, now, next) : undefined, 'git');
      }
      throw leaseBusyError(resource, 'break');
    });
  }

  // ------------------------------------------------------------- acquire core

  /**
   * One try. The first try is optimistic (push a create without looking);
   * later tries list the remote first and do not touch it while a conflict is
   * visible.
   */
  private async attempt(ctx: Ctx, resource: LeaseResource, owner: string, ttlMs: number, first: boolean): Promise<Attempt> {
    const ref = leaseRefFor(resource.id);
    let current: string | undefined;
    if (!first) {
      const listing = await this.remote.lsRemote(ctx);
      current = listing.get(ref);
      const seen = await this.conflictsIn(ctx, resource, owner, ref, listing);
      if (seen.conflicts.length > 0) return { ok: false, conflicts: seen.conflicts };
    }
    let mine: { oid: string; record: StoredLeaseRecord } | undefined;
    let tookOver: LeaseView | undefined;
    for (let i = 0; i < CAS_TRIES && !mine; i++) {
      if (current === undefined) {
        const record = newRecord(resource, owner, ttlMs);
        const oid = await this.remote.pushRecord(ctx, ref, record, null);
        if (oid) mine = { oid, record };
        else current = await this.remote.current(ctx, ref);
        continue;
      }
      if (!first && tooYoungToExpire(ctx, ref, current, this.expiry)) {
        // Waiting: a version we first saw less than a margin ago cannot have expired, whatever its TTL.
        // Its record is read only when someone asks who holds it (saves a fetch per new holder per poll).
        return { ok: false, conflicts: [], unread: { ref, oid: current } };
      }
      const held = await this.remote.recordOf(ctx, ref, current);
      if (held === 'missing') {
        current = await this.remote.current(ctx, ref);
        continue;
      }
      if (held !== 'invalid' && held.owner === owner) {
        // Ours already (this or another process of the same owner): renew it, same nonce.
        const next = renewedRecord(held, ttlMs);
        const oid = await this.remote.pushRecord(ctx, ref, next, current);
        if (oid) return { ok: true, lease: this.view(ctx, ref, oid, next), renewed: true, ref, oid };
        current = await this.remote.current(ctx, ref);
        continue;
      }
      const holder = this.view(ctx, ref, current, held === 'invalid' ? unreadableRecord(resource, ttlMs) : held);
      if (!holder.expired) return { ok: false, conflicts: [holder] };
      // Expired as we judge it: replace exactly the version we watched expire.
      const record = newRecord(resource, owner, ttlMs);
      const oid = await this.remote.pushRecord(ctx, ref, record, current);
      if (oid) {
        mine = { oid, record };
        tookOver = holder;
      } else {
        current = await this.remote.current(ctx, ref);
      }
    }
    if (!mine) {
      const holder = current ? await this.remote.recordOf(ctx, ref, current) : undefined;
      return { ok: false, conflicts: holder && typeof holder === 'object' ? [this.view(ctx, ref, current!, holder)] : [] };
    }
    let conflicts: LeaseView[];
    try {
      conflicts = await this.checkAfterCreate(ctx, resource, owner, ref);
    } catch (error) {
      await this.remote.deleteRef(ctx, ref, mine.oid).catch(() => undefined);
      throw error;
    }
    if (conflicts.length > 0) {
      // Back off: someone else's lease is in the way. Delete only our own version.
      await this.remote.deleteRef(ctx, ref, mine.oid);
      return { ok: false, conflicts, backedOff: true };
    }
    return { ok: true, lease: this.view(ctx, ref, mine.oid, mine.record), renewed: false, ...(tookOver ? { tookOver } : {}), ref, oid: mine.oid };
  }

  /** The conflicts of a failed try, reading the holder's record if the try skipped it. */
  private async conflictViews(outcome: Failed): Promise<LeaseView[]> {
    if (!outcome.unread) return outcome.conflicts;
    const { ref, oid } = outcome.unread;
    return this.remote.session(async (ctx) => {
      const record = await this.remote.recordOf(ctx, ref, oid);
      return typeof record === 'object' ? [this.view(ctx, ref, oid, record)] : outcome.conflicts;
    });
  }

  /** With our own ref in place: list everything and look for other owners' conflicting leases. */
  private async checkAfterCreate(ctx: Ctx, resource: LeaseResource, owner: string, ownRef: string): Promise<LeaseView[]> {
    for (let round = 0; round < CAS_TRIES; round++) {
      const listing = await this.remote.lsRemote(ctx);
      const found = await this.conflictsIn(ctx, resource, owner, ownRef, listing);
      if (found.conflicts.length > 0) return found.conflicts;
      let settled = !found.missing;
      if (found.expired.length > 0) {
        // An expired conflicting lease is removed (by CAS on the version seen) before it is ignored,
        // so its holder cannot renew it afterwards. Losing that CAS means it changed: look again.
        const result = await this.remote.push(
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
      const id = this.remote.knownResource(ctx, ref);
      const known = id === undefined ? undefined : safeResource(id);
      return !known || resourcesConflict(resource, known);
    });
    const records = await this.remote.records(ctx, others);
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
    let listing = await this.remote.lsRemote(ctx);
    let records = await this.remote.records(ctx, [...listing]);
    if ([...records.values()].includes('missing')) {
      // Some lease moved on between listing and reading: list once more.
      listing = await this.remote.lsRemote(ctx);
      records = await this.remote.records(ctx, [...listing]);
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

  private view(ctx: Ctx, ref: string, oid: string, record: StoredLeaseRecord): LeaseView {
    return observedView(ctx, ref, oid, record, this.expiry);
  }

  /** The holder named by ELEASENOTOWNER; undefined for an object that is not a lease record. */
  private holderView(ctx: Ctx, ref: string, oid: string, record: StoredLeaseRecord | 'invalid'): LeaseView | undefined {
    return record === 'invalid' ? undefined : this.view(ctx, ref, oid, record);
  }
}

function safeResource(id: string): LeaseResource | undefined {
  try {
    return resourceFromId(id);
  } catch {
    return undefined;
  }
}
