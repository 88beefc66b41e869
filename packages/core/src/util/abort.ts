import { isLockstepError } from '../errors';
import { abortedError } from './errors';

/**
 * What an aborted signal stands for, as the error to throw: its reason when
 * that is a LockstepError (the publish executor's stop says which signal and
 * why), else EABORTED.
 */
export function abortReason(signal: AbortSignal): Error {
  return isLockstepError(signal.reason) ? signal.reason : abortedError(signal.reason);
}

/** Throws abortReason(signal) if `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * Settles as `work` does, or rejects with abortReason(signal) as soon as
 * `signal` aborts, whichever comes first. The work itself is not stopped by
 * this (pass the signal to it too where it takes one): this makes sure the
 * caller never waits on it once the signal says stop.
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
