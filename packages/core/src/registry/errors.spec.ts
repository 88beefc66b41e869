import { ErrorCodes, LockstepError } from '../errors';
import { createRedactor } from './redact';
import { RegistryErrorContext, toRegistryError } from './errors';
import { httpError, networkError } from './__fixtures__/errors';

const SECRET = 'very-secret-token-1234';
const ctx = (extra: Partial<RegistryErrorContext> = {}): RegistryErrorContext => ({
  operation: 'publish',
  name: '@demo/tiny',
  version: '1.0.0',
  registry: 'http://127.0.0.1:4873/',
  attempts: 1,
  credentials: '`//127.0.0.1:4873/:_authToken` in /repo/.npmrc',
  redact: createRedactor([SECRET]),
  ...extra,
});

describe('toRegistryError', () => {
  it('keeps LockstepErrors as they are', () => {
    const original = new LockstepError(ErrorCodes.EVERSIONEXISTS, 'x');
    expect(toRegistryError(original, ctx())).toBe(original);
  });

  it('EAUTH names the credentials, never their value', () => {
    const e = toRegistryError(httpError(401, { body: { error: `bad token ${SECRET}` } }), ctx());
    expect(e.code).toBe(ErrorCodes.EAUTH);
    expect(e.message).toContain('http://127.0.0.1:4873/ refused the credentials for publishing @demo/tiny@1.0.0 (HTTP 401)');
    expect(e.hint).toContain('`//127.0.0.1:4873/:_authToken` in /repo/.npmrc');
    expect(`${e.message}${e.hint}${e.stack}`).not.toContain(SECRET);
  });

  it('the cause is a sanitized copy: code and status kept, no headers or body', () => {
    const e = toRegistryError(httpError(503, { headers: { 'x-secret': SECRET }, body: { error: SECRET } }), ctx({ attempts: 4 }));
    expect(e.code).toBe(ErrorCodes.EREGISTRY);
    expect(e.message).toContain('HTTP 503 after 4 attempts');
    const cause = e.cause as Error & { code?: string; statusCode?: number; headers?: unknown; body?: unknown };
    expect(cause).toMatchObject({ code: 'E503', statusCode: 503 });
    expect(cause.headers).toBeUndefined();
    expect(cause.body).toBeUndefined();
    expect(JSON.stringify({ m: cause.message, s: cause.stack })).not.toContain(SECRET);
  });

  it('hints for 404 (read vs publish), 402 and network failures', () => {
    expect(toRegistryError(httpError(404), ctx()).hint).toMatch(/may publish to this scope/);
    expect(toRegistryError(httpError(404), ctx({ operation: 'read' })).hint).toMatch(/registry URL/);
    expect(toRegistryError(httpError(402), ctx()).hint).toMatch(/access: public/);
    const net = toRegistryError(networkError('ECONNREFUSED'), ctx({ attempts: 4 }));
    expect(net.code).toBe(ErrorCodes.EREGISTRY);
    expect(net.message).toContain('ECONNREFUSED after 4 attempts');
  });

  it('EBADMANIFEST and conflicts', () => {
    expect(toRegistryError(httpError(400), ctx()).code).toBe(ErrorCodes.EBADMANIFEST);
    expect(toRegistryError(Object.assign(new Error('invalid semver: x'), { code: 'EBADSEMVER' }), ctx()).code).toBe(ErrorCodes.EBADMANIFEST);
    expect(toRegistryError(httpError(409, { body: { error: 'this package is already present' } }), ctx()).code).toBe(ErrorCodes.EVERSIONEXISTS);
  });
});
