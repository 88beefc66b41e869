import { performance } from 'perf_hooks';
import { type LockLoss, lockCompromisedError, lockReleasedOnSignalError } from './errors';
import type { AcquireOptions, LockHandle } from './lock';
import { MutexPaths, removeHolder, touchHeld } from './mutex';
import { LockOwner } from './owner';
import { ProcessProbe } from './process-probe';
import { onTerminationSignal } from './signal-cleanup';
import { clearSupersedeRequest, readSupersedeRequest } from './supersede';

/**
 * A hold of the lock once taken (see acquireLock in lock.ts): the heartbeat
 * that keeps it fresh (the mtime of `held`), the compromised event when it is
 * lost (a stall past the stale window, taken over, removed by hand), release
 * on termination signals, and release itself (only if it is still ours).
 */
export function startHold(
  paths: MutexPaths,
  me: LockOwner,
  probe: ProcessProbe,
  staleMs: number,
  heartbeatMs: number,
  waitedMs: number,
  options: AcquireOptions,
  joined: boolean,
  slot: number,
): LockHandle {
  const controller = new AbortController();
  let released = false;
  let compromised = false;
  let lastBeat = performance.now();

  const what = options.what ?? `the lock on ${me.key}`;
  const lose = (loss: LockLoss) => {
    if (compromised || released) return;
    compromised = true;
    clearInterval(timer);
    stopListening?.();
    const error = lockCompromisedError(what, loss);
    controller.abort(error);
    try {
      options.onCompromised?.(error);
    } catch {
      // a throwing callback must not turn into an uncaught exception inside a timer
    }
  };

  const timer = setInterval(() => {
    const now = performance.now();
    const gap = now - lastBeat;
    if (gap > staleMs) {
      lose({ stalledMs: gap, staleMs });
      return;
    }
    try {
      if (!touchHeld(paths, me.token)) {
        lose({ takenOver: true });
        return;
      }
    } catch (error) {
      lose({ refreshFailed: error });
      return;
    }
    lastBeat = now;
  }, heartbeatMs);
  timer.unref();

  const detach = () => {
    released = true;
    clearInterval(timer);
    stopListening?.();
  };

  const releaseSync = (): boolean => {
    if (released) return !compromised;
    released = true;
    clearInterval(timer);
    stopListening?.();
    if (compromised) return false;
    clearSupersedeRequest(paths, me.token);
    return removeHolder(paths, me.token, me, probe, staleMs);
  };

  const stopListening =
    options.releaseOnSignals !== true
      ? undefined
      : onTerminationSignal((sig) => {
          releaseSync();
          controller.abort(lockReleasedOnSignalError(what, sig));
        });

  return {
    key: me.key,
    owner: me,
    path: paths.base,
    waitedMs,
    get compromised() {
      return compromised;
    },
    signal: controller.signal,
    joined,
    slot,
    supersededBy: () => readSupersedeRequest(paths, me.token),
    release: async () => releaseSync(),
    detach,
  };
}
