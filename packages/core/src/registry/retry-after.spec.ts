import { parseRetryAfter, retryAfterFromHeaders } from './retry-after';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter(['2'], now)).toBe(2000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    for (const v of [undefined, null, '', 'soon', '-5', {}, 'Foo, 99 Bar 2026']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });

  it('finds the header in raw (npm-registry-fetch) and Headers-like objects', () => {
    expect(retryAfterFromHeaders({ 'retry-after': ['3'] }, now)).toBe(3000);
    expect(retryAfterFromHeaders({ 'Retry-After': '4' }, now)).toBe(4000);
    expect(retryAfterFromHeaders({ get: (n: string) => (n === 'retry-after' ? '5' : null) }, now)).toBe(5000);
    expect(retryAfterFromHeaders(undefined, now)).toBeUndefined();
    expect(retryAfterFromHeaders({ 'content-type': ['x'] }, now)).toBeUndefined();
  });
});
