import { performance } from 'perf_hooks';
import { LockstepError } from '../errors';
import { sleep } from '../util/sleep';
import {
  lockMaxError,
  lockMaxMismatchError,
  lockTimeoutError,
  lockWaitAbortedError,
  lockWaitInterruptedError,
} from './errors';
import { explainUnderLockDir, resolveLockDir, verifyLockDir } from './lock-dir';
import {
  HolderView,
  MutexPaths,
  ensureMutexDirs,
  heldSlots,
  inspectHolder,
  mutexPaths,
  removeHolder,
  slotPaths,
  sweepLeftovers,
  tryTakeHeld,
} from './mutex';
import { LockOwner, makeOwner, ownerLiveness, readOwner, sameRun } from './owner';
import { ProcessProbe, systemProcessProbe } from './process-probe';
import { onTerminationSignal } from './signal-cleanup';
import { startHold } from './hold';
import { type SupersedeOptions, SupersedeRequest, Superseder } from './supersede';
import { Ticket, enqueue, leaveQueue, listTickets, removeIfAbandoned, ticketExists, touchTicket } from './ticket-queue';

export type { SupersedeOptions } from './supersede';

export const DEFAULT_LOCK_TIMEOUT_MS = 15 * 60_000;
export const DEFAULT_STALE_MS = 30_000;

export interface WaitInfo {
  key: string;
  /** Waiters ahead of us in the queue (0: we are next). */
  ahead: number;
  holder?: LockOwner | null;
  /** Holders beside `holder` when the lock admits more than one (`max`). */
  otherHolders: number;
  waitedMs: number;
}

export interface AcquireOptions {
  /** Give up waiting after this long with ELOCKTIMEOUT. Default 15 min. */
  timeoutMs?: number;
  /**
   * What is waited for and held, as messages name it (ELOCKTIMEOUT, EABORTED,
   * ELOCKCOMPROMISED). Default `the lock on <key>`; a concurrency group passes
   * `the concurrency group <name>`.
   */
  what?: string;
  /** The hint of ELOCKTIMEOUT, for callers whose way to wait longer is their own option. Default: about lockTimeoutMs. */
  timeoutHint?: string;
  /** A holder whose heartbeat is older than this is reclaimed even if its pid lives. Default 30 s. */
  staleMs?: number;
  /** How often the holder refreshes its heartbeat. Default staleMs / 6. */
  heartbeatMs?: number;
  /** How often the next-in-line waiter looks at the mutex. Default 5 ms. */
  pollMs?: number;
  /** Directory for lock state. Default: resolveLockDir(). */
  lockDir?: string;
  /** Shown to other processes as what holds the lock. Default: this process's argv. */
  command?: string;
  /** The process whose life the hold is bound to. Default: this process. */
  pid?: number;
  probe?: ProcessProbe;
  /** Stops waiting (EABORTED) when aborted. */
  signal?: AbortSignal;
  /** Called when waiting starts and every `waitReportMs` after. */
  onWait?: (info: WaitInfo) => void;
  waitReportMs?: number;
  /** Called once if the hold is lost; the handle's `signal` aborts as well. */
  onCompromised?: (error: LockstepError) => void;
  /**
   * Release (or leave the queue) on SIGINT/SIGTERM/SIGHUP. Default true, false
   * for shared holds. 'while-waiting': leave the queue on a signal, but let
   * the program decide when to release a hold (a wrapper that must stop its
   * child first).
   */
  releaseOnSignals?: boolean | 'while-waiting';
  /** Holders admitted at once (a concurrency group's `max`). Default 1. Every process using the key must agree. */
  max?: number;
  /**
   * cancelInProgress: supersede the runs ahead of this one. Waiters ahead get
   * SIGTERM; if every slot is taken, the oldest holder gets SIGTERM and, after
   * the grace window, SIGKILL to its process tree. Same host only.
   */
  supersede?: SupersedeOptions;
  /**
   * Share the hold with every process that names the same `pid` on this host
   * (same process start time): the task processes of one Nx invocation. A
   * process that finds the lock held by its own run joins that hold.
   */
  share?: boolean;
  /** Break a lock held by a live process (after `onForce` is told whom). */
  force?: boolean;
  onForce?: (holder: LockOwner | null) => void;
}

export interface LockHandle {
  readonly key: string;
  readonly owner: LockOwner;
  /** The lock's state directory, for messages. */
  readonly path: string;
  readonly waitedMs: number;
  /** True once the hold was lost; see `signal`. */
  readonly compromised: boolean;
  /** Aborts with ELOCKCOMPROMISED when the hold is lost, or EABORTED on a termination signal. */
  readonly signal: AbortSignal;
  /** True if this process joined a hold its run already had (see `share`). */
  readonly joined: boolean;
  /** Which of the `max` slots is held. */
  readonly slot: number;
  /** Set once a newer run asked this one to stop (cancelInProgress): who and when. */
  supersededBy(): SupersedeRequest | undefined;
  /** Releases the lock if it is still ours. Idempotent. Resolves to false if it had been lost. */
  release(): Promise<boolean>;
  /** Stops heartbeat and signal handling but leaves the hold in place, for the rest of a shared run. */
  detach(): void;
}

/**
 * Acquires the single-flight lock for `key`, waiting in FIFO order behind
 * other processes. A dead holder (pid probe, same host) is reclaimed at once,
 * a stale one after the stale window.
 */
export async function acquireLock(key: string, options: AcquireOptions = {}): Promise<LockHandle> {
  // An explicit lockDir that resolveLockDir returned earlier is re-verified (not swapped since).
  if (options.lockDir !== undefined) verifyLockDir(options.lockDir);
  const lockDir = options.lockDir ?? resolveLockDir();
  try {
    return await acquireIn(lockDir, key, options);
  } catch (error) {
    // A swap of the lock directory mid-acquire is ELOCKDIRUNSAFE, never a bare ENOENT.
    throw explainUnderLockDir(lockDir, error);
  }
}

async function acquireIn(lockDir: string, key: string, options: AcquireOptions): Promise<LockHandle> {
  const probe = options.probe ?? systemProcessProbe;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.max(20, Math.floor(staleMs / 6));
  const pollMs = options.pollMs ?? 5;
  const waitReportMs = options.waitReportMs ?? 10_000;
  const paths = mutexPaths(lockDir, key);
  const max = options.max ?? 1;
  if (!Number.isInteger(max) || max < 1) throw lockMaxError(max);
  const what = options.what ?? `the lock on ${key}`;
  ensureMutexDirs(paths, key);
  const me = makeOwner(key, probe, options.pid ?? process.pid, options.command, max);
  const started = performance.now();
  assertMaxAgrees(paths, me, probe, staleMs, options.share === true);

  const policy: TakePolicy = { share: options.share === true, force: options.force === true, onForce: options.onForce, max };
  const hold = async (attempt: TakeAttempt, waitedMs: number) => {
    const handle = await startHold(
      slotPaths(paths, attempt.slot ?? 0),
      attempt.joined ?? me,
      probe,
      staleMs,
      heartbeatMs,
      waitedMs,
      { ...options, releaseOnSignals: options.releaseOnSignals ?? !policy.share },
      !!attempt.joined,
      attempt.slot ?? 0,
    );
    // Two users with different max values arriving together both saw nobody: the later check sees the other.
    if (!attempt.joined && max > 1) {
      try {
        assertMaxAgrees(paths, me, probe, staleMs, options.share === true);
      } catch (error) {
        await handle.release();
        throw error;
      }
    }
    return handle;
  };

  // An empty queue, or forcing, may take at once; a run member may join its run's hold past the queue.
  const joinFirst = policy.share ? joinRun(paths, me, probe, staleMs, max) : undefined;
  if (joinFirst?.taken) return hold(joinFirst, 0);
  // Members of one run sharing a group of several slots always queue: taking in
  // ticket order is what keeps two of them from taking two slots at once.
  const fastPath = policy.force || (listTickets(paths).length === 0 && !(policy.share && max > 1));
  const first = fastPath ? takeOrReclaim(paths, me, probe, staleMs, policy) : undefined;
  if (first?.taken) return hold(first, 0);

  let ticket: Ticket | undefined = enqueue(paths, me);
  const superseder = options.supersede ? new Superseder(paths, me, probe, options.supersede) : undefined;
  // A termination signal while queued: leave the queue at once (the runs behind
  // move up) and stop waiting, even when the program handles the signal itself.
  const interrupted = new AbortController();
  const waitSignal = options.signal ? AbortSignal.any([options.signal, interrupted.signal]) : interrupted.signal;
  const stopListening =
    options.releaseOnSignals === false
      ? undefined
      : onTerminationSignal((sig) => {
          if (ticket) leaveQueue(paths, ticket);
          ticket = undefined;
          interrupted.abort(lockWaitInterruptedError(what, sig));
        });
  let lastTouch = performance.now();
  let lastReport = -Infinity;
  try {
    for (;;) {
      if (interrupted.signal.aborted) throw interrupted.signal.reason;
      if (options.signal?.aborted) throw lockWaitAbortedError(what, options.signal.reason);
      const waitedMs = performance.now() - started;
      const tickets = listTickets(paths);
      if (!tickets.some((t) => t.seq === ticket!.seq)) {
        // A successor judged us abandoned (we were stalled past the stale window): queue again.
        ticket = enqueue(paths, me);
        continue;
      }
      const ahead = tickets.filter((t) => t.seq < ticket!.seq);
      superseder?.waitersAhead(ahead);
      let holder: HolderView | undefined;
      if (ahead.length === 0) {
        const attempt = takeOrReclaim(paths, me, probe, staleMs, policy);
        if (attempt.taken) {
          leaveQueue(paths, ticket);
          ticket = undefined;
          return hold(attempt, waitedMs);
        }
        holder = attempt.holder;
        superseder?.holders(attempt.holders ?? []);
      } else {
        removeIfAbandoned(paths, ahead[ahead.length - 1], probe, staleMs);
      }
      if (waitedMs >= timeoutMs) {
        throw lockTimeoutError({ what, holder: holder?.owner ?? readOwner(paths.held), waitedMs, heldPath: paths.held, hint: options.timeoutHint });
      }
      if (options.onWait && performance.now() - lastReport >= waitReportMs) {
        lastReport = performance.now();
        const holders = liveHolders(paths, probe, staleMs);
        options.onWait({ key, ahead: ahead.length, holder: holder?.owner ?? holders[0]?.owner, otherHolders: Math.max(0, holders.length - 1), waitedMs });
      }
      if (performance.now() - lastTouch >= heartbeatMs) {
        touchTicket(ticket);
        lastTouch = performance.now();
      }
      if (ahead.length === 0 || superseder) {
        await sleep(superseder ? Math.max(pollMs, 20) : pollMs, waitSignal);
      } else {
        await waitWhileExists(ahead[ahead.length - 1], pollMs * 4, Math.min(heartbeatMs, waitReportMs, Math.max(0, timeoutMs - waitedMs)), waitSignal);
      }
    }
  } catch (error) {
    if (interrupted.signal.aborted) throw interrupted.signal.reason;
    if (options.signal?.aborted && !(error instanceof LockstepError)) throw lockWaitAbortedError(what, error);
    throw error;
  } finally {
    if (ticket) leaveQueue(paths, ticket);
    stopListening?.();
  }
}

/** Runs `fn` while holding the lock for `key`; releases however `fn` ends. */
export async function withLock<T>(key: string, options: AcquireOptions, fn: (handle: LockHandle) => Promise<T>): Promise<T> {
  const handle = await acquireLock(key, options);
  try {
    return await fn(handle);
  } finally {
    await handle.release();
  }
}

interface TakePolicy {
  share: boolean;
  force: boolean;
  onForce?: (holder: LockOwner | null) => void;
  max: number;
}

interface TakeAttempt {
  taken: boolean;
  /** The slot taken or joined. */
  slot?: number;
  /** When not taken: the holder of slot 0, for messages. */
  holder?: HolderView;
  /** When not taken: every live holder, oldest first. */
  holders?: HolderView[];
  /** The run's existing hold, when a shared lock was joined. */
  joined?: LockOwner;
}

/** A run member joins the slot its run already holds, past the queue. */
function joinRun(paths: MutexPaths, me: LockOwner, probe: ProcessProbe, staleMs: number, max: number): TakeAttempt {
  for (const slot of heldSlots(paths)) {
    if (slot >= max) continue;
    const holder = inspectHolder(slotPaths(paths, slot), probe, staleMs);
    if (holder.owner && holder.state === 'alive' && sameRun(holder.owner, me)) return { taken: true, slot, joined: holder.owner };
  }
  return { taken: false };
}

function takeOrReclaim(paths: MutexPaths, me: LockOwner, probe: ProcessProbe, staleMs: number, policy: TakePolicy): TakeAttempt {
  if (policy.share && policy.max > 1) {
    // A run member joins the slot its run holds before it takes a free one.
    const joined = joinRun(paths, me, probe, staleMs, policy.max);
    if (joined.taken) return joined;
  }
  return takeAny(paths, me, probe, staleMs, policy);
}

function takeAny(paths: MutexPaths, me: LockOwner, probe: ProcessProbe, staleMs: number, policy: TakePolicy): TakeAttempt {
  const live: HolderView[] = [];
  let first: HolderView | undefined;
  for (let slot = 0; slot < policy.max; slot++) {
    const attempt = takeSlot(slotPaths(paths, slot), me, probe, staleMs, policy, slot);
    if (attempt.taken) return attempt;
    first ??= attempt.holder;
    if (attempt.holder?.owner && attempt.holder.state === 'alive') live.push(attempt.holder);
  }
  if (policy.force && first?.state === 'alive') {
    // Every slot is held by a live run: forcing breaks slot 0.
    const attempt = takeSlot(paths, me, probe, staleMs, { ...policy, max: 1 }, 0, true);
    if (attempt.taken) return attempt;
  }
  live.sort((a, b) => (a.owner!.startedAt < b.owner!.startedAt ? -1 : 1));
  return { taken: false, holder: first, holders: live };
}

function takeSlot(paths: MutexPaths, me: LockOwner, probe: ProcessProbe, staleMs: number, policy: TakePolicy, slot: number, breakLive = false): TakeAttempt {
  // Look before trying: a failed attempt creates and deletes a dir and a file,
  // which costs a waiter far more CPU (and the filesystem churn) than a read.
  const holder = inspectHolder(paths, probe, staleMs);
  if (holder.state === 'free') {
    return tryTakeHeld(paths, me) ? { taken: true, slot } : { taken: false, holder: inspectHolder(paths, probe, staleMs) };
  }
  if (policy.share && holder.owner && holder.state === 'alive' && sameRun(holder.owner, me)) return { taken: true, slot, joined: holder.owner };
  const breakable = holder.state === 'dead' || holder.state === 'stale' || (breakLive && holder.state === 'alive');
  if (breakable) {
    if (holder.state === 'alive') policy.onForce?.(holder.owner ?? null);
    removeHolder(paths, holder.identity!, me, probe, staleMs);
    sweepLeftovers(paths, probe);
    if (tryTakeHeld(paths, me)) return { taken: true, slot };
  }
  return { taken: false, holder };
}

/**
 * Every process using a key must admit the same number of holders: one that
 * counts 3 slots beside one that counts 2 would let a third run in. Holders
 * and waiters record their `max`; a live one with another value (of another
 * run) refuses this one with EBADOPTIONS.
 */
function assertMaxAgrees(paths: MutexPaths, me: LockOwner, probe: ProcessProbe, staleMs: number, share: boolean): void {
  const others = [
    ...heldSlots(paths).map((slot) => inspectHolder(slotPaths(paths, slot), probe, staleMs)).filter((h) => h.state === 'alive').map((h) => h.owner),
    ...listTickets(paths).map((t) => readOwner(t.path)).filter((o) => o && ownerLiveness(o, probe) !== 'dead'),
  ];
  for (const other of others) {
    if (!other || other.token === me.token || other.max === undefined || other.max === me.max) continue;
    if (share && sameRun(other, me)) continue;
    throw lockMaxMismatchError(me, other);
  }
}

/** Live holders of every slot, oldest first. */
function liveHolders(paths: MutexPaths, probe: ProcessProbe, staleMs: number): HolderView[] {
  return heldSlots(paths)
    .map((slot) => inspectHolder(slotPaths(paths, slot), probe, staleMs))
    .filter((h) => h.owner && h.state === 'alive')
    .sort((a, b) => (a.owner!.startedAt < b.owner!.startedAt ? -1 : 1));
}

/** Waits until `ticket` is gone, checking every `stepMs`, for at most `maxMs`. */
async function waitWhileExists(ticket: Ticket, stepMs: number, maxMs: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + maxMs;
  while (ticketExists(ticket) && performance.now() < until) await sleep(stepMs, signal);
}
