import { type DurationLimits, checkDurationRange, parseDuration } from '../util/duration';

const DAY_MS = 86_400_000;

/** Shortest lease TTL: a shorter one would expire before its holder could do anything under it. */
export const MIN_LEASE_TTL_MS = 1000;
/** Longest lease TTL unless LOCKSTEP_MAX_TTL says otherwise: a lease nobody renews is gone within a week. */
export const DEFAULT_MAX_LEASE_TTL_MS = 7 * DAY_MS;
/** LOCKSTEP_MAX_TTL may raise the maximum up to this, and a stored record with a longer TTL is not sane. */
export const MAX_LEASE_TTL_CEILING_MS = 365 * DAY_MS;

/**
 * The longest TTL a lease may be taken with: LOCKSTEP_MAX_TTL (a duration
 * between 1s and 365d), else 7d. A LOCKSTEP_MAX_TTL that is not such a
 * duration is EBADDURATION.
 */
export function maxLeaseTtlMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LOCKSTEP_MAX_TTL;
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_LEASE_TTL_MS;
  return parseDuration(raw, 'LOCKSTEP_MAX_TTL', { minMs: MIN_LEASE_TTL_MS, maxMs: MAX_LEASE_TTL_CEILING_MS });
}

/** The limits of a lease TTL: 1s up to LOCKSTEP_MAX_TTL (default 7d). */
export function leaseTtlLimits(env: NodeJS.ProcessEnv = process.env, maxMs = maxLeaseTtlMs(env)): DurationLimits {
  return { minMs: MIN_LEASE_TTL_MS, maxMs, maxSource: maxSource(env) };
}

function maxSource(env: NodeJS.ProcessEnv): string {
  return env.LOCKSTEP_MAX_TTL?.trim() ? 'the maximum is set by LOCKSTEP_MAX_TTL' : 'LOCKSTEP_MAX_TTL can raise the maximum up to 365d';
}

/** `--ttl 15m` → 900000; EBADDURATION for anything outside the grammar or the limits, naming them. */
export function parseLeaseTtl(text: string, env: NodeJS.ProcessEnv = process.env, what = 'TTL'): number {
  return parseDuration(text, what, leaseTtlLimits(env));
}

/**
 * A TTL given as a number (the backends' API): a whole number of
 * milliseconds between `minMs` (default 1s) and `maxMs` (default
 * LOCKSTEP_MAX_TTL or 7d), else EBADDURATION naming the limits.
 */
export function checkLeaseTtl(ttlMs: number, limits: { minMs?: number; maxMs?: number; env?: NodeJS.ProcessEnv } = {}): number {
  const env = limits.env ?? process.env;
  const maxMs = limits.maxMs ?? maxLeaseTtlMs(env);
  return checkDurationRange(ttlMs, 'lease TTL', { minMs: limits.minMs ?? MIN_LEASE_TTL_MS, maxMs, maxSource: limits.maxMs === undefined ? maxSource(env) : undefined });
}

/**
 * Whether a TTL read from a stored record (another process's, another
 * machine's: untrusted) can be believed: a whole number of milliseconds above
 * zero and at most 365d. A record whose TTL is not sane counts as expired, so
 * that it can always be taken over and collected, and is shown as such.
 */
export function isSaneTtl(ttlMs: unknown): ttlMs is number {
  return typeof ttlMs === 'number' && Number.isSafeInteger(ttlMs) && ttlMs > 0 && ttlMs <= MAX_LEASE_TTL_CEILING_MS;
}

/** Why a stored record is not believed (shown in status and kept in views as `unsound`), or undefined. */
export function recordProblem(record: { ttlMs: unknown }): string | undefined {
  if (isSaneTtl(record.ttlMs)) return undefined;
  const ttl = typeof record.ttlMs === 'number' ? String(record.ttlMs) : typeof record.ttlMs;
  return `its ttlMs (${ttl.slice(0, 40)}) is not a whole number of milliseconds between 1ms and 365d`;
}
