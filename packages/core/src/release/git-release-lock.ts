import { spawn } from 'child_process';
import { readlinkSync } from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ErrorCodes, LockstepError, isLockstepError } from '../errors';
import { releaseLeaseLostError } from './errors';
import { LeaseBackend } from '../lease/types';
import type { LeaseResource } from '../lease/resource';
import { createLeaseBackend } from '../lease/backend';
import { systemProcessProbe } from '../lock/process-probe';
import { safeText } from '../util/display';
import { formatDuration } from '../util/duration';
import { parseResource } from '../lease/resource';
import type { ReleaseLock, ReleaseLockRequest } from './release-lock';

/**
 * Keeping a run's git lease alive. Every successful renew (or the acquire)
 * makes the hold valid until the moment the call began + TTL, on this
 * process's monotonic clock; publishing stops (`lost()`) once that moment is
 * near, whatever the network does, because other machines may judge the
 * lease expired from then on. A renew that fails for a passing reason (EGIT:
 * timeout, network) is retried until then; a renew refused because the lease
 * is someone else's now (ELEASENOTOWNER, ELEASENOTHELD) is lost at once.
 */
export class LeaseKeeper {
  private validUntil: number;
  private lostError?: LockstepError;
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly backend: LeaseBackend,
    private readonly resource: LeaseResource,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly log: (line: string) => void,
    /** performance.now() taken before the acquire that got the lease. */
    acquiredFrom: number,
  ) {
    this.validUntil = acquiredFrom + ttlMs;
    this.schedule(this.intervalMs);
  }

  get intervalMs(): number {
    return Math.max(1000, Math.floor(this.ttlMs / 3));
  }

  /** Set once the hold can no longer be trusted: publishing must stop. */
  lost(): LockstepError | undefined {
    // Stop a tenth of the TTL early: the margin covers a package that starts right now.
    if (!this.lostError && !this.stopped && performance.now() > this.validUntil - this.ttlMs / 10) {
      this.lose(`The lease on ${this.resource.id} was not renewed in time (ttl ${Math.round(this.ttlMs / 1000)} s): the remote did not answer, or this process stalled.`);
    }
    return this.lostError;
  }

  /** Stops renewing; resolves when a renew in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.lostError) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.renew();
    }, ms);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const started = performance.now();
    try {
      await this.backend.renew(this.resource, { owner: this.owner, ttlMs: this.ttlMs });
      this.validUntil = started + this.ttlMs;
      this.schedule(this.intervalMs);
    } catch (error) {
      if (this.stopped) return;
      if (isLockstepError(error, ErrorCodes.ELEASENOTOWNER) || isLockstepError(error, ErrorCodes.ELEASENOTHELD)) {
        this.lose(`The lease on ${this.resource.id} is no longer this run's: ${(error as Error).message}`);
        return;
      }
      if (this.lost()) return;
      this.log(`Renewing the lease on ${this.resource.id} failed (${(error as Error).message.split('\n')[0]}); trying again.`);
      this.schedule(Math.min(2000, this.intervalMs));
    }
  }

  private lose(message: string): void {
    if (this.lostError) return;
    this.lostError = releaseLeaseLostError(message);
    if (this.timer) clearTimeout(this.timer);
    this.log(`!!! ${message}`);
  }
}

/** The pid namespace of this process ("4026531836"), so runs in two containers with one hostname are told apart. */
export function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

/** The git lease owner of a run: `run:<host>:<pid namespace>:<pid>:<start time>`. */
export function runOwner(runPid: number): string {
  return `run:${systemProcessProbe.hostname()}:${pidNamespace()}:${runPid}:${systemProcessProbe.startTime(runPid) ?? '0'}`;
}

/** A run owner of this host and pid namespace whose root process is gone (or is another process now). */
export function runIsGone(owner: string): boolean {
  const match = /^run:(.+):(\d+):(\d+):(\d+)$/.exec(owner);
  if (!match) return false;
  const [, host, ns, pid, start] = match;
  if (host !== systemProcessProbe.hostname() || ns !== pidNamespace() || ns === '0') return false;
  if (!systemProcessProbe.isAlive(Number(pid))) return true;
  const now = systemProcessProbe.startTime(Number(pid));
  return now !== undefined && start !== '0' && now !== start;
}

export interface RenewerConfig {
  cwd: string;
  remote: string;
  resource: LeaseResource;
  owner: string;
  ttlMs: number;
  runPid: number;
}

/**
 * Per-task mode: between two publish tasks of a run no task process lives to
 * renew, so the task that takes the lease starts this detached renewer. It
 * renews while the run's nx process lives and stops when the lease is no
 * longer the run's (the completing task released it) or the run is gone.
 */
export function startDetachedRenewer(config: RenewerConfig): void {
  const child = spawn(process.execPath, [path.join(__dirname, 'git-lease-renewer.js'), JSON.stringify(config)], {
    detached: true,
    stdio: 'ignore',
    cwd: config.cwd,
  });
  child.unref();
}

export function gitBackendFor(config: Pick<RenewerConfig, 'cwd' | 'remote' | 'ttlMs'>): LeaseBackend {
  return createLeaseBackend({
    backend: 'git',
    cwd: config.cwd,
    remote: config.remote,
    // a renew that hangs longer than a third of the TTL is worth retrying instead
    gitTimeoutMs: Math.max(5000, Math.floor(config.ttlMs / 3)),
    // A run of this host whose nx process is gone (a failed or killed run) holds nothing: no need to wait out its TTL.
    abandoned: (record) => runIsGone(record.owner),
  });
}

/**
 * The group as a lease `group:<name>` on a git remote: runs on different
 * machines serialise. Every task of a run acquires as the run (same owner:
 * acquiring again renews) and keeps it renewed while it lives (LeaseKeeper);
 * in per-task mode the task that took the lease also starts a detached
 * renewer for the gaps between tasks. The task that completes the run
 * releases.
 */
export async function takeGitReleaseLock(request: ReleaseLockRequest, backendOptions: { remote: string; ttlMs: number }): Promise<ReleaseLock> {
  const { log, group } = request;
  const ttlMs = backendOptions.ttlMs;
  const backend = gitBackendFor({ cwd: request.workspaceRoot, remote: backendOptions.remote, ttlMs });
  const resource = parseResource(`group:${group}`);
  const owner = runOwner(request.runPid);
  // A signal while waiting stops the wait (nothing acquired), as with the local backend.
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const acquiredFrom = performance.now();
  let acquired;
  try {
    acquired = await backend.acquire(resource, {
      owner,
      ttlMs,
      waitMs: request.waitTimeoutMs,
      signal: interrupted.signal,
      onWait: (info) => {
        const holder = info.conflicts[0];
        log(
          `Waiting for ${group} (held by ${holder ? `${safeText(holder.owner)} on ${safeText(holder.hostname)} since ${safeText(holder.acquiredAt)}` : 'another run'}; lease on git remote '${backendOptions.remote}')`,
        );
      },
    });
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  }
  if (acquired.tookOver) log(`Took over the lease on ${group} from ${safeText(acquired.tookOver.owner)} (expired, or its run is gone).`);
  if (!acquired.renewed) {
    log(`Holding ${group} as a lease on git remote '${backendOptions.remote}' (ttl ${formatDuration(ttlMs)}, renewed every ${formatDuration(ttlMs / 3)}).`);
    if (request.perTask) startDetachedRenewer({ cwd: request.workspaceRoot, remote: backendOptions.remote, resource, owner, ttlMs, runPid: request.runPid });
  }
  const keeper = new LeaseKeeper(backend, resource, owner, ttlMs, log, acquiredFrom);
  return {
    release: async () => {
      await keeper.stop();
      if (keeper.lost()) return false;
      return (await backend.release(resource, { owner })).released;
    },
    detach: () => void keeper.stop(),
    supersededBy: () => undefined,
    lost: () => keeper.lost(),
  };
}
