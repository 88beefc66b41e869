import { performance } from 'perf_hooks';
import type { LockstepError } from '../errors';
import { sleep } from '../util/sleep';
import { leaseWaitAbortedError, leaseWaitOptionError, resourceNotParsedError } from './errors';
import { type LeaseResource, checkLeaseOwner, resourceFromId } from './resource';
import { MIN_LEASE_TTL_MS, checkLeaseTtl } from './ttl';
import type { LeaseAcquireOptions, LeaseView } from './types';

/**
 * What the two lease backends share: the checks of every call's input (the
 * resource, the owner, the TTL, the wait) and the wait loop of `acquire`.
 * Each backend brings its own storage and its own idea of a try; the rules
 * of waiting (how often, how long, when to report, what an abort leaves
 * behind) and the errors of bad input are the same for both.
 */

/** The TTL limits a backend is made with (both backends' options include these). */
export interface LeaseTtlOptions {
  /** Shortest TTL accepted. Default 1 s (MIN_LEASE_TTL_MS); tests of expiry pass less. */
  minTtlMs?: number;
  /** Longest TTL accepted. Default LOCKSTEP_MAX_TTL of the environment, else 7 d. */
  maxTtlMs?: number;
}

/** A TTL within the backend's limits, else EBADDURATION naming them. */
export function checkTtlFor(ttlMs: number, limits: LeaseTtlOptions, env?: NodeJS.ProcessEnv): number {
  return checkLeaseTtl(ttlMs, { minMs: limits.minTtlMs ?? MIN_LEASE_TTL_MS, maxMs: limits.maxTtlMs, env });
}

/** A resource made by parseResource (or resourceFromId), else EBADRESOURCE: what backends hash and store must be canonical. */
export function checkLeaseResource(resource: LeaseResource): LeaseResource {
  const id = (resource as Partial<LeaseResource> | undefined)?.id;
  if (typeof id !== 'string') throw resourceNotParsedError(resource);
  const parsed = resourceFromId(id);
  if (parsed.namespace !== resource.namespace || parsed.name !== resource.name) throw resourceNotParsedError(resource);
  return resource;
}

/** The checked input of `acquire`. */
export function checkAcquire(resource: LeaseResource, options: LeaseAcquireOptions, limits: LeaseTtlOptions, env?: NodeJS.ProcessEnv): { owner: string; ttlMs: number; waitMs: number } {
  checkLeaseResource(resource);
  const owner = checkLeaseOwner(options?.owner);
  const ttlMs = checkTtlFor(options.ttlMs, limits, env);
  const waitMs = options.waitMs ?? 0;
  if (typeof waitMs !== 'number' || Number.isNaN(waitMs) || waitMs < 0) throw leaseWaitOptionError(waitMs);
  return { owner, ttlMs, waitMs };
}

/** The checked input of `renew`. */
export function checkRenew(resource: LeaseResource, options: { owner: string; ttlMs?: number }, limits: LeaseTtlOptions, env?: NodeJS.ProcessEnv): { owner: string; ttlMs?: number } {
  checkLeaseResource(resource);
  const owner = checkLeaseOwner(options?.owner);
  return { owner, ttlMs: options.ttlMs === undefined ? undefined : checkTtlFor(options.ttlMs, limits, env) };
}

/** The checked input of `release`. */
export function checkRelease(resource: LeaseResource, options: { owner: string }): { owner: string } {
  checkLeaseResource(resource);
  return { owner: checkLeaseOwner(options?.owner) };
}

// ------------------------------------------------------------------ waiting

export const DEFAULT_WAIT_REPORT_MS = 10_000;

/** One try of an acquire: the lease (`taken`, the backend's own record of it), or what was in the way. */
export type AcquireTry<T> = { taken: T; renewed: boolean } | { conflicts: LeaseView[]; backedOff?: boolean };

export interface AcquireLoop<T> {
  resource: LeaseResource;
  options: LeaseAcquireOptions;
  /** Checked by checkAcquire. */
  waitMs: number;
  /** The backend's pause between tries when `options.pollMs` is not given. */
  defaultPollMs: number;
  /** Each pause is pollMs × (1 ± jitter), so that waiters drift apart. */
  jitter: number;
  /** One try; `round` counts from 0. */
  attempt(round: number): Promise<AcquireTry<T>>;
  /** The conflicts of a failed try as people should see them (a backend may skip reading a holder until asked). */
  describe?(failed: Extract<AcquireTry<T>, { conflicts: LeaseView[] }>): Promise<LeaseView[]>;
  /** Gives back a lease this call took while its caller was aborting. */
  abandon(taken: T): Promise<void>;
  /** ELEASECONFLICT for the conflicts; `waitedMs` undefined when the acquire did not wait. */
  conflictError(conflicts: LeaseView[], waitedMs: number | undefined): LockstepError;
}

/**
 * The wait loop of `acquire`, for both backends: try, and while a
 * conflicting lease stays in the way keep trying every pollMs (with jitter)
 * until `waitMs` has passed (then ELEASECONFLICT). `onWait` hears when
 * waiting starts and every `waitReportMs` after. A try that backed off after
 * colliding with another acquirer (who may have backed off too) is followed
 * by a random, exponentially growing pause, so that one of the two goes
 * first next time. An abort stops the wait (EABORTED); a lease taken while
 * the abort arrived is given back, so an aborted acquire never holds.
 */
export async function acquireWithWait<T>(loop: AcquireLoop<T>): Promise<{ taken: T; renewed: boolean; waitedMs: number }> {
  const { resource, options, waitMs } = loop;
  const signal = options.signal;
  const pollMs = Math.max(1, options.pollMs ?? loop.defaultPollMs);
  const reportMs = Math.max(1, options.waitReportMs ?? DEFAULT_WAIT_REPORT_MS);
  const describe = async (failed: Extract<AcquireTry<T>, { conflicts: LeaseView[] }>) => (loop.describe ? loop.describe(failed) : failed.conflicts);
  const started = performance.now();
  let lastReport: number | undefined;
  let collisions = 0;
  for (let round = 0; ; round++) {
    if (signal?.aborted) throw leaseWaitAbortedError(resource, signal);
    const outcome = await loop.attempt(round);
    const waitedMs = performance.now() - started;
    if ('taken' in outcome) {
      if (signal?.aborted && !outcome.renewed) {
        await loop.abandon(outcome.taken);
        throw leaseWaitAbortedError(resource, signal);
      }
      return { taken: outcome.taken, renewed: outcome.renewed, waitedMs: Math.round(waitedMs) };
    }
    if (waitedMs >= waitMs) throw loop.conflictError(await describe(outcome), waitMs > 0 ? waitedMs : undefined);
    if (options.onWait && (lastReport === undefined || performance.now() - lastReport >= reportMs)) {
      lastReport = performance.now();
      options.onWait({ resource: resource.id, conflicts: await describe(outcome), waitedMs: Math.round(waitedMs) });
    }
    collisions = outcome.backedOff ? collisions + 1 : 0;
    const wanted = collisions > 0 ? pollMs * Math.random() * 2 ** Math.min(collisions, 5) : pollMs * (1 - loop.jitter + Math.random() * 2 * loop.jitter);
    try {
      await sleep(Math.max(1, Math.min(wanted, waitMs - waitedMs)), signal);
    } catch {
      throw leaseWaitAbortedError(resource, signal);
    }
  }
}
