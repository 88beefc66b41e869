import { formatDuration } from '../util/duration';
import type { Ctx } from './git-remote';
import { monotonicNs } from './git-observed';
import { publicRecord, type StoredLeaseRecord } from './git-record';
import { recordProblem } from './ttl';
import type { LeaseRecord, LeaseView } from './types';

/**
 * Expiry as one observer of the git remote judges it, never from clocks of
 * other machines: a lease has expired once this clone has seen the same
 * version (oid) of its ref, unchanged, for its TTL plus a margin, on this
 * machine's monotonic clock (see git-observed.ts for how sightings are kept).
 */
export interface ExpiryRules {
  /** Extra observation time beyond the TTL. Default: max(1 s, ttl / 10). */
  marginMs?: number;
  /** A holder this observer can prove gone counts as expired at once. */
  abandoned?: (record: LeaseRecord) => boolean;
}

export function marginFor(ttlMs: number, rules: ExpiryRules): number {
  return rules.marginMs ?? Math.max(1000, Math.round(ttlMs / 10));
}

/** The expiry rule in words, for the hint of a conflict. */
export function expiryInWords(ttlMs: number, rules: ExpiryRules): string {
  return `a lease whose holder died expires once this machine has seen it unchanged for its TTL (${formatDuration(ttlMs)}) plus a margin of ${formatDuration(marginFor(ttlMs, rules))}`;
}

/** The lease as this observer judges it: expired once the same oid was seen for ttl + margin. */
export function observedView(ctx: Ctx, ref: string, oid: string, record: StoredLeaseRecord, rules: ExpiryRules): LeaseView {
  const base: LeaseView = { ...publicRecord(record), backend: 'git', expired: false };
  // A record whose TTL is not a sane number: expired, so it can always be taken over and collected.
  const unsound = recordProblem(record);
  if (unsound) return { ...base, expired: true, remainingMs: 0, unsound };
  if (rules.abandoned?.(publicRecord(record))) return { ...base, expired: true, remainingMs: 0 };
  const seen = ctx.store.get(ref);
  if (!seen || seen.oid !== oid) return base;
  const limitMs = record.ttlMs + marginFor(record.ttlMs, rules);
  const seenMs = Number(monotonicNs() - seen.since) / 1e6;
  base.expired = seenMs >= limitMs;
  if (!ctx.startedNow.has(ref)) base.remainingMs = Math.max(0, Math.ceil(limitMs - seenMs));
  return base;
}

/** True when `ref` has been seen at `oid` for less than the smallest possible ttl + margin and its record is not at hand. */
export function tooYoungToExpire(ctx: Ctx, ref: string, oid: string, rules: ExpiryRules): boolean {
  const seen = ctx.store.get(ref);
  if (!seen || seen.oid !== oid || seen.record) return false;
  const floorMs = rules.marginMs ?? 1000; // ttl > 0, and the default margin is at least 1 s
  return Number(monotonicNs() - seen.since) / 1e6 < floorMs;
}
