/**
 * Removes credentials from text before it reaches a message, a hint, a log
 * line or a journal (G5). Two layers:
 *  - the configured secret values themselves (tokens, passwords, OTPs), also
 *    in their base64 and URL-encoded forms, wherever they appear;
 *  - patterns that look like credentials whatever their value:
 *    `_authToken=…`, `_auth=…`, `_password=…`, `Authorization: Bearer …`,
 *    `Basic …`, `npm-otp: …`, npm tokens `npm_…`, and credentials in URLs
 *    (`redactUrls`).
 */
import { redactUrls } from '../util/display';

export const REDACTED = '***';

/** Secret values shorter than this are not replaced verbatim (they would shred ordinary text). */
const MIN_SECRET_LENGTH = 4;

type Replacement = string | ((match: string, ...groups: string[]) => string);

const PATTERNS: Array<[RegExp, Replacement]> = [
  // .npmrc / npm config keys, in ini (`key=value`) and JSON (`"key":"value"`) form.
  [/((?:_authToken|_auth|_password|authToken)["']?\s*[=:]\s*["']?)[^\s"',;]+/gi, `$1${REDACTED}`],
  // HTTP authorization headers, with or without a scheme.
  [
    /(authorization["']?\s*[=:]\s*["']?)(?:(Bearer|Basic|token)\s+)?[^\s"',;]+/gi,
    (_m, head: string, scheme?: string) => `${head}${scheme ? `${scheme} ` : ''}${REDACTED}`,
  ],
  // Bare `Bearer <token>` / `Basic <base64>` (a credential has a digit, '=', '+' or '/' in it).
  [/\b(Bearer|Basic)\s+(?=[A-Za-z0-9._~+/=-]*[0-9=+/])[A-Za-z0-9._~+/=-]{6,}/g, `$1 ${REDACTED}`],
  // One-time passwords sent as a header or option.
  [/(\b(?:npm-otp|otp)["']?\s*[=:]\s*["']?)[^\s"',;]+/gi, `$1${REDACTED}`],
  // npm automation/granular/publish tokens.
  [/\bnpm_[A-Za-z0-9]{36}\b/g, `npm_${REDACTED}`],
];

function variants(secret: string): string[] {
  const out = new Set<string>([secret]);
  try {
    out.add(encodeURIComponent(secret));
  } catch {
    // lone surrogates: only the raw form
  }
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  if (b64.length >= MIN_SECRET_LENGTH) out.add(b64);
  return [...out];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A redactor bound to a set of secrets (compiled once, used on every message). */
export function createRedactor(secrets: Iterable<string | undefined | null> = []): (text: string) => string {
  const values = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string') continue;
    const trimmed = secret.trim();
    if (trimmed.length < MIN_SECRET_LENGTH) continue;
    for (const v of variants(trimmed)) values.add(v);
  }
  // Longest first, so a secret containing another is removed whole.
  const sorted = [...values].sort((a, b) => b.length - a.length);
  const literal = sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : undefined;
  return (text: string) => {
    if (typeof text !== 'string' || text.length === 0) return text;
    let out = literal ? text.replace(literal, REDACTED) : text;
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement as never);
    // Credentials embedded in URLs (scheme://user:pass@host, scheme://token@host).
    return redactUrls(out);
  };
}

/** `text` without any of `secrets` and without anything that looks like a credential. */
export function redact(text: string, secrets: Iterable<string | undefined | null> = []): string {
  return createRedactor(secrets)(text);
}
