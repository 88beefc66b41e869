/**
 * Errors shaped exactly like the ones the npm libraries throw, built with
 * npm-registry-fetch's and minipass-fetch's own classes.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const fetchErrors = require('npm-registry-fetch/lib/errors.js');
const { FetchError } = require('minipass-fetch');

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export interface HttpErrorOptions {
  method?: string;
  url?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What npm-registry-fetch throws for an HTTP error status (checkResponse's choice of class included). */
export function httpError(status: number, options: HttpErrorOptions = {}): Error & { code: string; statusCode: number } {
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = [v];
  const res = {
    status,
    statusText: STATUS_TEXT[status] ?? 'Error',
    url: options.url ?? 'http://127.0.0.1:4873/@demo%2ftiny',
    headers: { raw: () => headers, get: (n: string) => headers[n.toLowerCase()]?.[0] ?? null },
  };
  const method = options.method ?? 'PUT';
  const www = headers['www-authenticate']?.[0];
  if (status === 401 && www) {
    const parts = www.split(/,\s*/).map((s) => s.toLowerCase());
    if (parts.includes('otp')) return new fetchErrors.HttpErrorAuthOTP(method, res, options.body, undefined);
    if (parts.includes('ipaddress')) return new fetchErrors.HttpErrorAuthIPAddress(method, res, options.body, undefined);
    return new fetchErrors.HttpErrorAuthUnknown(method, res, options.body, undefined);
  }
  return new fetchErrors.HttpErrorGeneral(method, res, options.body, undefined);
}

/** What minipass-fetch throws for a socket-level failure. */
export function networkError(code: string, message = code === 'ECONNRESET' ? 'socket hang up' : `connect ${code}`): Error & { code: string } {
  const system = Object.assign(new Error(message), { code, errno: code, syscall: 'connect' });
  return new FetchError(`request to http://127.0.0.1:4873/tiny failed, reason: ${message}`, 'system', system);
}

/** minipass-fetch's request timeout. */
export function timeoutError(): Error {
  return new FetchError('network timeout at: http://127.0.0.1:4873/tiny', 'request-timeout');
}
