import { ErrorCodes, LockstepError } from '../errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `30s`, `15m`, `2h`, `1h30m` or `500ms` into
 * milliseconds. A bare number is refused: `30` could mean seconds or minutes.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = String(text).trim();
  const hint = `Write ${what} as a number with a unit: 30s, 15m, 2h, 1h30m or 500ms.`;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    throw new LockstepError(ErrorCodes.EBADDURATION, `The ${what} '${trimmed}' has no unit.`, { hint });
  }
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (trimmed === '' || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new LockstepError(ErrorCodes.EBADDURATION, `The ${what} '${trimmed}' is not a duration.`, { hint });
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new LockstepError(ErrorCodes.EBADDURATION, `The ${what} '${trimmed}' must be longer than zero.`, { hint });
  }
  return Math.round(ms);
}

/** 90000 → "1m30s": the inverse of parseDuration, for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
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
