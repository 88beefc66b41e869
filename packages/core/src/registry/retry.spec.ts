import { ErrorCodes, LockstepError } from '../errors';
import { backoffDelay, withRetries, RetryInfo } from './retry';
import { httpError, networkError } from './__fixtures__/errors';

function harness(random = () => 0.5) {
  const sleeps: number[] = [];
  const retries: RetryInfo[] = [];
  return {
    sleeps,
    retries,
    options: {
      sleep: async (ms: number) => {
        sleeps.push(ms);
      },
      random,
      onRetry: (info: RetryInfo) => retries.push(info),
    },
  };
}

/** fn failing with the given errors in turn, then resolving 'ok'. */
function failing(...errors: unknown[]) {
  const calls: number[] = [];
  const fn = async (attempt: number) => {
    calls.push(attempt);
    if (errors.length > 0) throw errors.shift();
    return 'ok';
  };
  return { fn, calls };
}

describe('backoffDelay (full jitter)', () => {
  it('is random() times min(cap, base * 2^n)', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0.5)).toBe(50);
    expect(backoffDelay(3, 100, 10_000, () => 0.5)).toBe(400);
    expect(backoffDelay(20, 100, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelay(5, 100, 10_000, () => 0)).toBe(0);
  });
});

describe('withRetries', () => {
  it('retries transient failures (429, 5xx, resets, refused, timeouts, DNS) and returns the result', async () => {
    const h = harness();
    const errors = [httpError(429), httpError(500), httpError(503), networkError('ECONNRESET')];
    const { fn, calls } = failing(...errors);
    await expect(withRetries(fn, { ...h.options, retries: 4, baseMs: 100, capMs: 10_000 })).resolves.toBe('ok');
    expect(calls).toEqual([0, 1, 2, 3, 4]);
    // random 0.5 of 100, 200, 400, 800
    expect(h.sleeps).toEqual([50, 100, 200, 400]);
    expect(h.retries.map((r) => [r.attempt, r.reason])).toEqual([
      [1, 'HTTP 429'],
      [2, 'HTTP 500'],
      [3, 'HTTP 503'],
      [4, 'socket hang up'],
    ]);
  });

  it.each(['ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN'])('retries %s', async (code) => {
    const h = harness();
    const { fn, calls } = failing(networkError(code));
    await expect(withRetries(fn, h.options)).resolves.toBe('ok');
    expect(calls).toHaveLength(2);
  });

  it.each([400, 401, 403, 404, 409])('never retries HTTP %s', async (status) => {
    const h = harness();
    const error = httpError(status);
    const { fn, calls } = failing(error);
    await expect(withRetries(fn, h.options)).rejects.toBe(error);
    expect(calls).toEqual([0]);
    expect(h.sleeps).toEqual([]);
  });

  it('gives up after `retries` retries (default 3) and rethrows the last failure', async () => {
    const h = harness();
    const last = httpError(503);
    const { fn, calls } = failing(httpError(503), httpError(502), httpError(500), last, httpError(500));
    await expect(withRetries(fn, h.options)).rejects.toBe(last);
    expect(calls).toEqual([0, 1, 2, 3]);
    expect(h.retries).toHaveLength(3);
  });

  it('retries: 0 means one attempt', async () => {
    const h = harness();
    const { fn, calls } = failing(httpError(503));
    await expect(withRetries(fn, { ...h.options, retries: 0 })).rejects.toBeDefined();
    expect(calls).toEqual([0]);
  });

  it('waits at least Retry-After (seconds or HTTP date), capped', async () => {
    const h = harness(() => 0);
    const date = new Date(Date.now() + 120_000).toUTCString();
    const { fn } = failing(
      httpError(429, { headers: { 'Retry-After': '2' } }),
      httpError(503, { headers: { 'Retry-After': '0' } }),
      httpError(429, { headers: { 'Retry-After': date } }),
    );
    await withRetries(fn, { ...h.options, maxRetryAfterMs: 60_000 });
    expect(h.sleeps[0]).toBe(2000);
    expect(h.sleeps.length).toBe(2); // Retry-After: 0 with random 0 → no sleep at all
    expect(h.sleeps[1]).toBe(60_000);
    expect(h.retries.map((r) => r.retryAfterMs)).toEqual([2000, 0, expect.any(Number)]);
    expect(h.retries[2].retryAfterMs).toBeGreaterThan(100_000);
  });

  it('takes the jitter when it is longer than Retry-After', async () => {
    const h = harness(() => 0.99);
    const { fn } = failing(httpError(429, { headers: { 'retry-after': '0' } }));
    await withRetries(fn, { ...h.options, baseMs: 1000 });
    expect(h.sleeps).toEqual([990]);
  });

  it('never sleeps a fixed 10 s: the defaults start small', async () => {
    const h = harness(() => 0.999);
    const { fn } = failing(httpError(503), httpError(503), httpError(503));
    await withRetries(fn, h.options);
    expect(h.sleeps[0]).toBeLessThan(1000);
    expect(Math.max(...h.sleeps)).toBeLessThan(10_000);
  });

  it('passes name and operation to onRetry, and survives a throwing onRetry', async () => {
    const seen: RetryInfo[] = [];
    const { fn } = failing(httpError(500));
    await withRetries(fn, {
      sleep: async () => {},
      random: () => 0,
      name: '@demo/tiny',
      operation: 'publish',
      onRetry: (info) => {
        seen.push(info);
        throw new Error('observer bug');
      },
    });
    expect(seen).toEqual([{ attempt: 1, delayMs: 0, reason: 'HTTP 500', name: '@demo/tiny', operation: 'publish' }]);
  });

  it('accepts a custom decision', async () => {
    const h = harness();
    const { fn, calls } = failing(new Error('flaky'), new Error('flaky'));
    await withRetries(fn, { ...h.options, decide: (e) => ({ retry: (e as Error).message === 'flaky', reason: 'flaky' }) });
    expect(calls).toEqual([0, 1, 2]);
  });
});

describe('withRetries with an AbortSignal (a publish run being stopped)', () => {
  const stopped = () => new LockstepError(ErrorCodes.EABORTED, 'Stopped by SIGTERM: test.');

  it('an abort during the attempt rejects at once with the signal\'s reason, and nothing is tried again', async () => {
    const abort = new AbortController();
    const calls: number[] = [];
    const pending = withRetries(
      (attempt) => {
        calls.push(attempt);
        return new Promise<never>(() => undefined); // a request that never answers
      },
      { signal: abort.signal, sleep: async () => {} },
    );
    const reason = stopped();
    abort.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(calls).toEqual([0]);
  });

  it('an abort during the wait between attempts ends the wait at once; a failure after an abort is not retried', async () => {
    const abort = new AbortController();
    const calls: number[] = [];
    const pending = withRetries(
      async (attempt) => {
        calls.push(attempt);
        throw httpError(503);
      },
      { signal: abort.signal, retries: 5, sleep: () => new Promise<void>(() => undefined), random: () => 0.5 },
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    abort.abort(stopped());
    await expect(pending).rejects.toMatchObject({ code: 'EABORTED', message: 'Stopped by SIGTERM: test.' });
    expect(calls).toEqual([0]);
  });

  it('an abort without a LockstepError reason is EABORTED; an aborted signal starts nothing', async () => {
    const abort = new AbortController();
    abort.abort();
    const calls: number[] = [];
    await expect(
      withRetries(async (attempt) => {
        calls.push(attempt);
        return 'ok';
      }, { signal: abort.signal }),
    ).rejects.toMatchObject({ code: 'EABORTED' });
    expect(calls).toEqual([]);
  });
});
