import { ErrorCode, ErrorCodes } from '../errors';
import { retryAfterFromHeaders } from './retry-after';

/**
 * What a failed registry request means for the caller:
 *  - transient:    retry (429, 408, 5xx, resets, timeouts, DNS hiccups);
 *  - auth:         401, OTP, or a 403 about permissions; never retried (EAUTH);
 *  - bad-manifest: 400/422 or a manifest libnpmpublish refuses (EBADMANIFEST);
 *  - conflict:     the registry says the version was published before
 *                  (E403/E409 "previously published"): re-check the registry;
 *  - not-found:    404;
 *  - other:        anything else (EREGISTRY).
 */
export type FailureKind = 'transient' | 'auth' | 'bad-manifest' | 'conflict' | 'not-found' | 'other';

export interface RegistryFailure {
  kind: FailureKind;
  /** HTTP status, when there was a response. */
  status?: number;
  /** The error's code (E503, ECONNRESET, EOTP, …). */
  code?: string;
  /** Short and stable, for onRetry and messages: 'HTTP 503', 'ECONNRESET', 'socket hang up'. */
  reason: string;
  /** What the registry or the library said. NOT redacted: redact before showing. */
  detail: string;
  /** From the response's Retry-After, in ms. */
  retryAfterMs?: number;
  /**
   * The request may have been applied even though we saw a failure (the
   * response was lost, a 5xx, a timeout): before repeating an upload, look
   * whether it landed.
   */
  ambiguous: boolean;
}

/**
 * The wording registries use when a version exists (or existed) already:
 * npmjs "You cannot publish over the previously published versions: 1.0.0."
 * (E403), Verdaccio 6 "this package is already present" (E409, for any
 * existing tarball/version), GitHub Packages "Cannot publish over existing
 * version", Artifactory/Nexus variants.
 */
export const PUBLISHED_OVER =
  /previously published|cannot publish over|publish over (?:the )?existing|already present|already exists|version (?:already )?exists|cannot modify pre-existing version|does not allow updating assets|EPUBLISHCONFLICT/i;

/** npmjs answers 409 to concurrent writes of one packument: that one is worth a retry. */
const TRANSIENT_CONFLICT = /failed to save packument|try again|conflict.*retry/i;

/** Network failures worth another attempt; the first ones never reached the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN']);
const AMBIGUOUS_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'ERR_SOCKET_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** libnpmpublish refuses these before sending anything. */
const MANIFEST_CODES = new Set(['EPRIVATE', 'EBADSEMVER', 'EUNSCOPED', 'EUSAGE', 'EINVALIDTAGNAME', 'EINVALIDPACKAGENAME']);

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  status?: unknown;
  type?: unknown;
  body?: unknown;
  headers?: unknown;
  errno?: unknown;
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (Buffer.isBuffer(body)) return body.toString('utf8').slice(0, 500);
  if (typeof body === 'string') return body.slice(0, 500);
  if (typeof body === 'object') {
    const b = body as Record<string, unknown>;
    for (const key of ['error', 'message', 'reason', 'detail']) {
      if (typeof b[key] === 'string' && b[key]) return b[key] as string;
    }
    if (Array.isArray(b.errors)) {
      return (b.errors as unknown[])
        .map((e) => (e && typeof e === 'object' ? String((e as Record<string, unknown>).message ?? '') : String(e)))
        .join('; ');
    }
  }
  return '';
}

/** The HTTP status of an npm-registry-fetch error, if it had a response. */
export function statusOf(error: unknown): number | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as ErrorLike;
  for (const v of [e.statusCode, e.status]) {
    if (typeof v === 'number' && v >= 100 && v < 600) return v;
  }
  return undefined;
}

function networkCode(e: ErrorLike, message: string): string | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined;
  const errno = typeof e.errno === 'string' ? e.errno : undefined;
  for (const c of [code, errno]) {
    if (c && (NOT_SENT_CODES.has(c) || AMBIGUOUS_CODES.has(c))) return c;
  }
  if (/socket hang up/i.test(message)) return 'ECONNRESET';
  if (e.type === 'request-timeout' || e.type === 'body-timeout' || /network timeout|timed out/i.test(message)) {
    return 'ETIMEDOUT';
  }
  return undefined;
}

/** Classifies whatever npm-registry-fetch, make-fetch-happen or libnpmpublish threw. */
export function classifyRegistryError(error: unknown, now: number = Date.now()): RegistryFailure {
  if (!error || typeof error !== 'object') {
    return { kind: 'other', reason: 'unknown error', detail: String(error), ambiguous: false };
  }
  const e = error as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = statusOf(error);

  if (status === undefined) {
    const net = networkCode(e, message);
    if (net) {
      const reason = /socket hang up/i.test(message) ? 'socket hang up' : net;
      return { kind: 'transient', code: net, reason, detail: message, ambiguous: !NOT_SENT_CODES.has(net) };
    }
    if (code && MANIFEST_CODES.has(code)) {
      return { kind: 'bad-manifest', code, reason: code, detail: message, ambiguous: false };
    }
    if (code === 'EOTP' || code === 'EAUTHIP') return { kind: 'auth', code, reason: code, detail: message, ambiguous: false };
    return { kind: 'other', code, reason: code ?? 'error', detail: message, ambiguous: false };
  }

  const said = bodyText(e.body);
  const detail = said && !message.includes(said) ? `${message} - ${said}` : message || said;
  const base = { status, code: code ?? `E${status}`, reason: `HTTP ${status}`, detail };
  const retryAfterMs = retryAfterFromHeaders(e.headers, now);

  if (code === 'EOTP' || code === 'EAUTHIP') return { ...base, kind: 'auth', reason: code, ambiguous: false };
  if (status === 429 || status === 408) return { ...base, kind: 'transient', retryAfterMs, ambiguous: false };
  if (status >= 500) return { ...base, kind: 'transient', retryAfterMs, ambiguous: true };
  const text = `${said}\n${message}`;
  if (status === 409) {
    if (!PUBLISHED_OVER.test(text) && TRANSIENT_CONFLICT.test(text)) {
      return { ...base, kind: 'transient', retryAfterMs, ambiguous: true };
    }
    return { ...base, kind: 'conflict', ambiguous: false };
  }
  if ((status === 403 || status === 400) && PUBLISHED_OVER.test(text)) return { ...base, kind: 'conflict', ambiguous: false };
  if (status === 401 || status === 403) return { ...base, kind: 'auth', ambiguous: false };
  if (status === 400 || status === 422) return { ...base, kind: 'bad-manifest', ambiguous: false };
  if (status === 404) return { ...base, kind: 'not-found', ambiguous: false };
  return { ...base, kind: 'other', ambiguous: false };
}

/** Whether withRetries should try again after this error. */
export function isTransient(error: unknown): boolean {
  return classifyRegistryError(error).kind === 'transient';
}

/** The lockstep error code a failure of this kind ends in (once retries are spent). */
export function errorCodeFor(kind: FailureKind): ErrorCode {
  switch (kind) {
    case 'auth':
      return ErrorCodes.EAUTH;
    case 'bad-manifest':
      return ErrorCodes.EBADMANIFEST;
    case 'conflict':
      return ErrorCodes.EVERSIONEXISTS;
    default:
      return ErrorCodes.EREGISTRY;
  }
}
