/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP date.
 * Returns the wait in milliseconds (never negative), or undefined when the
 * value is missing or unreadable.
 */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw === 'number') return Number.isFinite(raw) && raw >= 0 ? Math.round(raw * 1000) : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only something that looks like a date (not "-5", not "soon").
  if (!/[a-z]/i.test(text) || !/\d/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The `Retry-After` of an error's response headers (npm-registry-fetch gives raw arrays, fetch a Headers). */
export function retryAfterFromHeaders(headers: unknown, now: number = Date.now()): number | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (name: string) => unknown } & Record<string, unknown>;
  if (typeof h.get === 'function') return parseRetryAfter(h.get('retry-after'), now);
  for (const key of Object.keys(h)) {
    if (key.toLowerCase() === 'retry-after') return parseRetryAfter(h[key], now);
  }
  return undefined;
}
