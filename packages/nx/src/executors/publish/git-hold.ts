import { spawn } from 'child_process';
import { readlinkSync } from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ErrorCodes, LeaseBackend, LeaseResource, LockstepError, createLeaseBackend, isLockstepError, systemProcessProbe } from '@lockstep/core';

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
    this.lostError = new LockstepError(ErrorCodes.ELOCKCOMPROMISED, message, {
      hint: 'Another run may take the group over now. Nothing started after this point; check the other run, then run again to resume.',
    });
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
