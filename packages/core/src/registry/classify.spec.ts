import { ErrorCodes } from '../errors';
import { classifyRegistryError, errorCodeFor, isTransient, PUBLISHED_OVER } from './classify';
import { httpError, networkError, timeoutError } from './__fixtures__/errors';

describe('classifyRegistryError', () => {
  it.each([429, 408])('HTTP %s is transient and not ambiguous (nothing was applied)', (status) => {
    const f = classifyRegistryError(httpError(status, { headers: { 'retry-after': '1' } }));
    expect(f).toMatchObject({ kind: 'transient', status, reason: `HTTP ${status}`, retryAfterMs: 1000, ambiguous: false });
  });

  it.each([500, 502, 503, 504, 599])('HTTP %s is transient and ambiguous (it may have been applied)', (status) => {
    expect(classifyRegistryError(httpError(status))).toMatchObject({ kind: 'transient', status, ambiguous: true });
  });

  it('network failures: resets and timeouts are ambiguous, refused/DNS are not', () => {
    expect(classifyRegistryError(networkError('ECONNRESET'))).toMatchObject({ kind: 'transient', code: 'ECONNRESET', reason: 'socket hang up', ambiguous: true });
    expect(classifyRegistryError(networkError('ETIMEDOUT'))).toMatchObject({ kind: 'transient', ambiguous: true });
    expect(classifyRegistryError(networkError('EPIPE'))).toMatchObject({ kind: 'transient', ambiguous: true });
    expect(classifyRegistryError(timeoutError())).toMatchObject({ kind: 'transient', code: 'ETIMEDOUT', ambiguous: true });
    expect(classifyRegistryError(networkError('ECONNREFUSED'))).toMatchObject({ kind: 'transient', ambiguous: false });
    expect(classifyRegistryError(networkError('EAI_AGAIN'))).toMatchObject({ kind: 'transient', ambiguous: false });
    expect(classifyRegistryError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toMatchObject({ kind: 'transient' });
  });

  it('401 is auth (what Verdaccio 6.8 answers to a bad or missing token)', () => {
    const error = httpError(401, {
      headers: { 'www-authenticate': 'Basic, Bearer' },
      body: { error: 'authorization required to publish package @demo/tiny' },
    });
    expect(error.message).toBe('Unable to authenticate, need: Basic, Bearer');
    const f = classifyRegistryError(error);
    expect(f).toMatchObject({ kind: 'auth', status: 401 });
    expect(f.detail).toContain('authorization required to publish package @demo/tiny');
  });

  it('EOTP is auth with its own code', () => {
    const f = classifyRegistryError(httpError(401, { headers: { 'www-authenticate': 'OTP' } }));
    expect(f).toMatchObject({ kind: 'auth', code: 'EOTP', reason: 'EOTP' });
  });

  it('a 403 about permissions is auth', () => {
    const f = classifyRegistryError(httpError(403, { body: { error: 'user ci is not allowed to publish package @demo/tiny' } }));
    expect(f.kind).toBe('auth');
  });

  it.each([
    [403, 'You cannot publish over the previously published versions: 1.0.0.'],
    [403, 'Cannot publish over previously published version "1.0.0".'],
    [409, 'this package is already present'],
    [409, 'Cannot publish over existing version'],
    [400, 'Cannot modify pre-existing version: 1.0.0'],
  ])('HTTP %s "%s" is a previously-published conflict', (status, said) => {
    expect(classifyRegistryError(httpError(status, { body: { error: said } })).kind).toBe('conflict');
  });

  it('a 409 without a known wording is still a conflict (the registry is re-checked)', () => {
    expect(classifyRegistryError(httpError(409)).kind).toBe('conflict');
  });

  it("npmjs's 409 'Failed to save packument' (a concurrent write) is transient", () => {
    const error = httpError(409, { body: { error: 'Failed to save packument. A common cause is if you try to publish a new package before the previous package has been fully processed.' } });
    expect(classifyRegistryError(error)).toMatchObject({ kind: 'transient', ambiguous: true });
  });

  it.each([400, 422])('HTTP %s is a bad manifest', (status) => {
    expect(classifyRegistryError(httpError(status, { body: { error: 'invalid package name' } })).kind).toBe('bad-manifest');
  });

  it("libnpmpublish's own refusals are bad manifests", () => {
    for (const code of ['EPRIVATE', 'EBADSEMVER', 'EUNSCOPED']) {
      expect(classifyRegistryError(Object.assign(new Error('no'), { code })).kind).toBe('bad-manifest');
    }
  });

  it('404 is not-found, other statuses and plain errors are other', () => {
    expect(classifyRegistryError(httpError(404, { method: 'GET' })).kind).toBe('not-found');
    expect(classifyRegistryError(httpError(402)).kind).toBe('other');
    expect(classifyRegistryError(new Error('boom')).kind).toBe('other');
    expect(classifyRegistryError('weird').kind).toBe('other');
    expect(classifyRegistryError(undefined).kind).toBe('other');
  });

  it('isTransient and errorCodeFor', () => {
    expect(isTransient(httpError(503))).toBe(true);
    expect(isTransient(httpError(401))).toBe(false);
    expect(errorCodeFor('auth')).toBe(ErrorCodes.EAUTH);
    expect(errorCodeFor('bad-manifest')).toBe(ErrorCodes.EBADMANIFEST);
    expect(errorCodeFor('conflict')).toBe(ErrorCodes.EVERSIONEXISTS);
    expect(errorCodeFor('transient')).toBe(ErrorCodes.EREGISTRY);
    expect(errorCodeFor('other')).toBe(ErrorCodes.EREGISTRY);
  });

  it('PUBLISHED_OVER does not match ordinary auth messages', () => {
    expect(PUBLISHED_OVER.test('authorization required to publish package x')).toBe(false);
    expect(PUBLISHED_OVER.test('user x is not allowed to publish package y')).toBe(false);
  });
});
