import { abortReason, throwIfAborted, unlessAborted } from '../util/abort';
import { sleep as realSleep } from '../util/sleep';
import { classifyRegistryError } from './classify';

export const DEFAULT_RETRIES = 3;
export const DEFAULT_BASE_MS = 250;
export const DEFAULT_CAP_MS = 20_000;
/** A Retry-After longer than this is capped (a registry asking for an hour is not obeyed literally). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

export interface RetryInfo {
  /** 1 for the first retry (the second attempt), 2 for the next, … */
  attempt: number;
  /** How long we wait before that attempt. */
  delayMs: number;
  /** Why the previous attempt failed: 'HTTP 503', 'ECONNRESET', … */
  reason: string;
  /** What is being retried (a package name), when the caller said. */
  name?: string;
  /** Which request is retried ('publish', 'read', 'dist-tag'), when the caller said. */
  operation?: string;
  /** The registry's Retry-After, in ms, when it sent one. */
  retryAfterMs?: number;
}

export interface RetryDecision {
  retry: boolean;
  reason: string;
  retryAfterMs?: number;
}

export interface RetryOptions {
  /** Retries after the first attempt (default 3: at most 4 attempts). */
  retries?: number;
  baseMs?: number;
  capMs?: number;
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); injectable for tests. */
  random?: () => number;
  onRetry?: (info: RetryInfo) => void;
  name?: string;
  operation?: string;
  /** Whether an error is worth another attempt; by default the registry classification ('transient'). */
  decide?: (error: unknown) => RetryDecision;
  /**
   * Stops at once: the attempt in flight and any wait between attempts reject
   * with the signal's reason (abortReason), and nothing is tried again.
   */
  signal?: AbortSignal;
}

/** Full jitter (AWS architecture blog): a uniform wait in [0, min(cap, base · 2^n)). */
export function backoffDelay(retryIndex: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retryIndex));
  return Math.floor(random() * ceiling);
}

export function defaultRetryDecision(error: unknown): RetryDecision {
  const failure = classifyRegistryError(error);
  return { retry: failure.kind === 'transient', reason: failure.reason, retryAfterMs: failure.retryAfterMs };
}

/**
 * Runs `fn(attempt)` (attempt 0 first) and retries transient failures with
 * full-jitter exponential backoff; a Retry-After from the registry is a floor
 * for the wait (capped at maxRetryAfterMs). Anything not transient, and the
 * last failure once retries are spent, is rethrown as it was.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES));
  const baseMs = options.baseMs ?? DEFAULT_BASE_MS;
  const capMs = options.capMs ?? DEFAULT_CAP_MS;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const decide = options.decide ?? defaultRetryDecision;
  const { signal } = options;

  for (let attempt = 0; ; attempt++) {
    try {
      throwIfAborted(signal);
      return await unlessAborted(fn(attempt), signal);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (attempt >= retries) throw error;
      const decision = decide(error);
      if (!decision.retry) throw error;
      const jitter = backoffDelay(attempt, baseMs, capMs, random);
      const floor = decision.retryAfterMs === undefined ? 0 : Math.min(decision.retryAfterMs, maxRetryAfterMs);
      const delayMs = Math.max(jitter, floor);
      try {
        options.onRetry?.({
          attempt: attempt + 1,
          delayMs,
          reason: decision.reason,
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.operation === undefined ? {} : { operation: options.operation }),
          ...(decision.retryAfterMs === undefined ? {} : { retryAfterMs: decision.retryAfterMs }),
        });
      } catch {
        // A failing observer must not change what we do.
      }
      if (delayMs > 0) await unlessAborted(sleep(delayMs), signal);
    }
  }
}
