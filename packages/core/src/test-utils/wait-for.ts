import { sleep } from '../util/sleep';

/**
 * The one way tests wait for something: poll `condition` until it is true,
 * with a deadline of its own, and say what was waited for when it runs out.
 *
 * A bare sleep guesses how long the machine needs and fails (or passes for the
 * wrong reason) when it is busy; an unbounded loop hangs until jest's timeout,
 * which does not say what never happened. Keep `timeoutMs` below the test's
 * own timeout so that this message, not jest's, is the one you see.
 */
export interface WaitForOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** What is waited for, for the error message ("Timed out after 60s waiting for <what>"); a function is called only then. */
  what: string | (() => string);
  /** How often to check. Default 10 ms. */
  intervalMs?: number;
}

export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
  const { timeoutMs, what, intervalMs = 10 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) {
      const description = typeof what === 'function' ? what() : what;
      throw new Error(`Timed out after ${formatSeconds(timeoutMs)} waiting for ${description}`);
    }
    await sleep(intervalMs);
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}
