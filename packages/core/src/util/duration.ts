import type { LockstepError } from '../errors';
import { safeText } from './display';
import { durationError } from './errors';
/** The units, largest first: the order they must be written in. */
const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;
type Unit = (typeof UNITS)[number][0];
const UNIT_MS = new Map<string, number>(UNITS);
const UNIT_RANK = new Map<string, number>(UNITS.map(([unit], i) => [unit, i]));

/** Longest duration text read at all: anything longer is not a duration a person meant. */
const MAX_TEXT = 64;

export interface DurationLimits {
  /** Shortest accepted, in ms (inclusive). Default 1 ms (zero is always refused). */
  minMs?: number;
  /** Longest accepted, in ms (inclusive). Default Number.MAX_SAFE_INTEGER. */
  maxMs?: number;
  /** Where the maximum comes from, shown in parentheses after it, e.g. "set by LOCKSTEP_MAX_TTL". */
  maxSource?: string;
}

const EXAMPLES = '30s, 15m, 2h, 1h30m, 2d or 500ms';

function durationHint(what: string, limits: DurationLimits): string {
  const range = limits.minMs !== undefined || limits.maxMs !== undefined ? `; it must be ${rangeText(limits)}` : '';
  return `Write the ${what} as numbers with units, largest unit first and each unit once: ${EXAMPLES} (units d, h, m, s, ms)${range}.`;
}

function rangeText(limits: DurationLimits): string {
  const minMs = limits.minMs ?? 1;
  const maxMs = limits.maxMs ?? Number.MAX_SAFE_INTEGER;
  return `between ${formatDuration(minMs)} and ${formatDuration(maxMs)}${limits.maxSource ? ` (${limits.maxSource})` : ''}`;
}

function refuse(what: string, text: string, problem: string, limits: DurationLimits): LockstepError {
  return durationError(what, text, problem, durationHint(what, limits));
}

/**
 * Parses a duration into milliseconds. The grammar, one for every duration
 * lockstep reads (TTLs, wait timeouts, LOCKSTEP_MAX_TTL):
 *
 *   duration = part+ ;  part = number unit ;  unit = d | h | m | s | ms
 *
 * - units largest first, each at most once: `1h30m`, `2d`, `90s`, `500ms`,
 *   `1m30s500ms`; `1h1h` and `30m1h` are refused;
 * - numbers are decimal digits, a fraction allowed (`1.5s`) as long as the
 *   total is a whole number of milliseconds; no sign, no exponent, no spaces
 *   inside;
 * - the total must be above zero and a safe integer (at most
 *   Number.MAX_SAFE_INTEGER ms), and within `limits` when given;
 * - a bare number is refused: `30` could mean seconds or minutes.
 *
 * Every refusal is EBADDURATION, saying what is wrong, with examples in the hint.
 */
export function parseDuration(text: string, what = 'duration', limits: DurationLimits = {}): number {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') throw refuse(what, trimmed, 'is empty', limits);
  if (trimmed.length > MAX_TEXT) throw refuse(what, trimmed, `is too long to be a duration (${trimmed.length} characters)`, limits);
  if (/^-/.test(trimmed)) throw refuse(what, trimmed, 'is negative: a duration is longer than zero', limits);
  if (/^\+/.test(trimmed)) throw refuse(what, trimmed, "has a sign: write the number without '+'", limits);
  if (/^\d+(\.\d+)?$/.test(trimmed)) throw refuse(what, trimmed, 'has no unit', limits);
  if (/\d[eE][+-]?\d/.test(trimmed)) throw refuse(what, trimmed, 'has an exponent: write the number out', limits);

  const part = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;
  const seen: Unit[] = [];
  let total = 0;
  let pos = 0;
  while (pos < trimmed.length) {
    part.lastIndex = pos;
    const m = part.exec(trimmed);
    if (!m) throw refuse(what, trimmed, pos === 0 ? 'is not a duration' : `is not a duration (at '${safeText(trimmed.slice(pos), 20)}')`, limits);
    const unit = m[2] as Unit;
    if (seen.includes(unit)) throw refuse(what, trimmed, `repeats the unit '${unit}': each unit at most once`, limits);
    const last = seen[seen.length - 1];
    if (last !== undefined && UNIT_RANK.get(unit)! < UNIT_RANK.get(last)!) {
      throw refuse(what, trimmed, `has '${unit}' after '${last}': write the units largest first (e.g. 1h30m, not 30m1h)`, limits);
    }
    seen.push(unit);
    const [whole, fraction = ''] = m[1].split('.');
    // Digits beyond what a double holds exactly mean a number nobody meant.
    if (whole.replace(/^0+/, '').length > 16) throw refuse(what, trimmed, tooLong(limits), limits);
    if (fraction.length > 9) throw refuse(what, trimmed, 'has too many decimal places', limits);
    total += Number(m[1]) * UNIT_MS.get(unit)!;
    pos = part.lastIndex;
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) throw refuse(what, trimmed, tooLong(limits), limits);
  // Fractions: 1.5s is 1500 ms; 1.0005s is not a whole number of ms. (Float error is far below 1e-6 ms here.)
  const ms = Math.round(total);
  if (Math.abs(total - ms) > 1e-6) throw refuse(what, trimmed, `is not a whole number of milliseconds (${total} ms)`, limits);
  if (ms <= 0) throw refuse(what, trimmed, 'must be longer than zero', limits);
  return checkDurationRange(ms, what, limits, trimmed);
}

function tooLong(limits: DurationLimits): string {
  return limits.maxMs !== undefined ? `is too long: at most ${formatDuration(limits.maxMs)}${limits.maxSource ? ` (${limits.maxSource})` : ''}` : 'is too long';
}

/**
 * EBADDURATION unless `ms` is a safe whole number of milliseconds within
 * `limits` (default: above zero). For durations given as numbers (the API),
 * and for parsed ones; `text` is how it was written, if it was.
 */
export function checkDurationRange(ms: number, what: string, limits: DurationLimits = {}, text?: string): number {
  const minMs = limits.minMs ?? 1;
  const maxMs = limits.maxMs ?? Number.MAX_SAFE_INTEGER;
  const shown = text ?? (typeof ms === 'number' && Number.isSafeInteger(ms) ? formatDuration(ms) : String(ms));
  const range = rangeText(limits);
  const hint = `Use a ${what} ${range}, e.g. ${minMs <= 15 * 60_000 && maxMs >= 15 * 60_000 ? '15m' : formatDuration(minMs)}.`;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) throw durationError(what, shown, 'is not a whole number of milliseconds', hint);
  if (ms < minMs) throw durationError(what, shown, `is too short: it must be ${range}`, hint);
  if (ms > maxMs) throw durationError(what, shown, `is too long: it must be ${range}`, hint);
  return ms;
}

/** 90000 → "1m30s": the inverse of parseDuration, for messages. Not a finite number: "?". */
export function formatDuration(ms: number): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '?';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms > Number.MAX_SAFE_INTEGER) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const out: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      out.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return out.join('');
}
