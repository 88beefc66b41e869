import { performance } from 'perf_hooks';
import { ErrorCodes, LockstepError } from '../errors';
import { safeText } from '../util/display';
import { sleep } from '../util/sleep';
import { resolveLockDir, verifyLockDir } from './lock-dir';
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
  touchHeld,
  tryTakeHeld,
} from './mutex';
import { LockOwner, describeOwner, makeOwner, ownerLiveness, readOwner } from './owner';
import { ProcessProbe, systemProcessProbe } from './process-probe';
import { onTerminationSignal } from './signal-cleanup';
import { SupersedeRequest, clearSupersedeRequest, killGraceFromEnv, readSupersedeRequest, signalOwner, sweepSupersedeRequests, writeSupersedeRequest } from './supersede';
import { Ticket, enqueue, leaveQueue, listTickets, removeIfAbandoned, ticketExists, touchTicket } from './ticket-queue';

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

export interface SupersedeOptions {
  /** SIGTERM first, SIGKILL after this long. Default LOCKSTEP_KILL_GRACE_MS or 30 s. */
  graceMs?: number;
  /** Told about every run superseded, and when its grace ran out. */
  onSupersede?: (target: LockOwner, action: 'SIGTERM' | 'SIGKILL', role: 'holder' | 'waiter') => void;
}

export interface AcquireOptions {
  /** Give up waiting after this long with ELOCKTIMEOUT. Default 15 min. */
  timeoutMs?: number;
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
  const probe = options.probe ?? systemProcessProbe;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.max(20, Math.floor(staleMs / 6));
  const pollMs = options.pollMs ?? 5;
  const waitReportMs = options.waitReportMs ?? 10_000;
  // An explicit lockDir that resolveLockDir returned earlier is re-verified (not swapped since).
  if (options.lockDir !== undefined) verifyLockDir(options.lockDir);
  const paths = mutexPaths(options.lockDir ?? resolveLockDir(), key);
  const max = options.max ?? 1;
  if (!Number.isInteger(max) || max < 1) throw new LockstepError(ErrorCodes.EBADOPTIONS, `max must be a whole number ≥ 1, not ${max}.`, { hint: 'Use max: 1 for a plain lock.' });
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
          interrupted.abort(new LockstepError(ErrorCodes.EABORTED, `Interrupted by ${sig} while waiting for the lock on ${key}; left the queue.`));
        });
  let lastTouch = performance.now();
  let lastReport = -Infinity;
  try {
    for (;;) {
      if (interrupted.signal.aborted) throw interrupted.signal.reason;
      if (options.signal?.aborted) {
        throw new LockstepError(ErrorCodes.EABORTED, `Stopped waiting for the lock on ${key}.`, { cause: options.signal.reason });
      }
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
      if (waitedMs >= timeoutMs) throw timeoutError(key, paths, holder, waitedMs);
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
    if (options.signal?.aborted && !(error instanceof LockstepError)) {
      throw new LockstepError(ErrorCodes.EABORTED, `Stopped waiting for the lock on ${key}.`, { cause: error });
    }
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

function sameRun(a: LockOwner, b: LockOwner): boolean {
  return a.key === b.key && a.hostname === b.hostname && a.pid === b.pid && a.startTime === b.startTime;
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
    throw new LockstepError(
      ErrorCodes.EBADOPTIONS,
      `${me.key} is in use with max ${other.max} by pid ${other.pid}@${safeText(other.hostname)} ('${safeText(other.command)}'), and this process asks for max ${me.max}.`,
      { hint: `Every run of one group must use the same max. Change it once the group is free: 'lockstep group status --group ${me.key.replace(/^group:/, '')}' shows who holds it and who waits.` },
    );
  }
}

/** Live holders of every slot, oldest first. */
function liveHolders(paths: MutexPaths, probe: ProcessProbe, staleMs: number): HolderView[] {
  return heldSlots(paths)
    .map((slot) => inspectHolder(slotPaths(paths, slot), probe, staleMs))
    .filter((h) => h.owner && h.state === 'alive')
    .sort((a, b) => (a.owner!.startedAt < b.owner!.startedAt ? -1 : 1));
}

/**
 * The newer run's side of cancelInProgress. Every run ahead is asked once
 * (request file, then SIGTERM); a holder still holding the same token when
 * its grace window ends gets SIGKILL on its process tree, and the dead hold
 * is then reclaimed by the normal pid probe.
 */
class Superseder {
  private readonly asked = new Map<string, { owner: LockOwner; at: number; killed: boolean }>();
  private readonly graceMs: number;

  constructor(
    private readonly paths: MutexPaths,
    private readonly me: LockOwner,
    private readonly probe: ProcessProbe,
    private readonly options: SupersedeOptions,
  ) {
    this.graceMs = options.graceMs ?? killGraceFromEnv();
    // Requests whose targets were SIGKILLed (and so never cleared their own) go after an hour.
    sweepSupersedeRequests(paths);
  }

  waitersAhead(ahead: Ticket[]): void {
    for (const ticket of ahead) {
      const owner = readOwner(ticket.path);
      if (owner) this.ask(owner, 'waiter');
    }
  }

  /** Called when we are first in line and every slot is held. */
  holders(live: HolderView[]): void {
    const target = live.find((h) => h.owner && !sameRun(h.owner, this.me))?.owner;
    if (target) this.ask(target, 'holder');
    for (const [token, asked] of this.asked) {
      if (asked.killed || performance.now() - asked.at < this.graceMs) continue;
      if (!live.some((h) => h.owner?.token === token)) continue;
      asked.killed = true;
      this.options.onSupersede?.(asked.owner, 'SIGKILL', 'holder');
      signalOwner(asked.owner, 'SIGKILL', this.probe);
    }
  }

  private ask(owner: LockOwner, role: 'holder' | 'waiter'): void {
    if (this.asked.has(owner.token) || owner.token === this.me.token || sameRun(owner, this.me)) return;
    this.asked.set(owner.token, { owner, at: performance.now(), killed: false });
    // Asked already (by another task of our run, or another newer run): a second
    // SIGTERM would make some programs (nx among them) stop at once, not gracefully.
    if (!writeSupersedeRequest(this.paths, owner, this.me)) return;
    this.options.onSupersede?.(owner, 'SIGTERM', role);
    signalOwner(owner, 'SIGTERM', this.probe);
  }
}

/** Waits until `ticket` is gone, checking every `stepMs`, for at most `maxMs`. */
async function waitWhileExists(ticket: Ticket, stepMs: number, maxMs: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + maxMs;
  while (ticketExists(ticket) && performance.now() < until) await sleep(stepMs, signal);
}

function timeoutError(key: string, paths: MutexPaths, holder: HolderView | undefined, waitedMs: number): LockstepError {
  const owner = holder?.owner ?? readOwner(paths.held);
  const who = owner ? `It is held by ${describeOwner(owner)}.` : 'Other processes are ahead of this one in the queue.';
  return new LockstepError(ErrorCodes.ELOCKTIMEOUT, `Timed out after ${Math.round(waitedMs / 1000)} s waiting for the lock on ${key}. ${who}`, {
    hint:
      `Wait for that process to finish, or stop it; a dead holder is reclaimed automatically. ` +
      `If it is stuck, remove ${paths.held} by hand. Raise the wait with lockTimeoutMs or LOCKSTEP_LOCK_TIMEOUT_MS.`,
  });
}

function startHold(
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

  const lose = (message: string) => {
    if (compromised || released) return;
    compromised = true;
    clearInterval(timer);
    stopListening?.();
    const error = new LockstepError(ErrorCodes.ELOCKCOMPROMISED, message, {
      hint: 'Another process may have run in parallel with this one; check its output and run again.',
    });
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
      lose(`The lock on ${me.key} was not refreshed for ${Math.round(gap)} ms (stale window ${staleMs} ms): this process stalled and the lock may have been taken over.`);
      return;
    }
    try {
      if (!touchHeld(paths, me.token)) {
        lose(`The lock on ${me.key} was taken over or removed while this process held it.`);
        return;
      }
    } catch (error) {
      lose(`The lock on ${me.key} could not be refreshed: ${(error as Error).message}`);
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
          controller.abort(new LockstepError(ErrorCodes.EABORTED, `Interrupted by ${sig}; the lock on ${me.key} was released.`));
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
