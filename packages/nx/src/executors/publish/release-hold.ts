import {
  ErrorCodes,
  LockHandle,
  LockstepError,
  acquireReleaseLock,
  createLeaseBackend,
  describeSupersede,
  formatDuration,
  parseResource,
  systemProcessProbe,
} from '@lockstep/core';
import type { NormalizedPublishOptions } from './normalize-options';

/** A run's hold on its concurrency group, on either backend. */
export interface ReleaseHold {
  /** Ends the hold for the whole run. */
  release(): Promise<boolean>;
  /** Leaves the hold in place for the rest of the run (per-task mode), stops this process's part in it. */
  detach(): void;
  /** "superseded by …" once a newer run asked this one to stop (cancelInProgress). */
  supersededBy(): string | undefined;
  /** Set when the hold was lost (a lease taken over, a lock reclaimed): publishing must stop. */
  lost(): LockstepError | undefined;
}

export interface HoldRequest {
  group: string;
  repoId: string;
  runPid: number;
  /** host:pid:start of the run: the owner every task of the run shares. */
  runId: string;
  workspaceRoot: string;
  command: string;
  waitTimeoutMs: number;
  options: NormalizedPublishOptions;
  log: (line: string) => void;
}

export async function takeReleaseHold(request: HoldRequest): Promise<ReleaseHold> {
  return request.options.lockBackend.type === 'git' ? takeGitHold(request, request.options.lockBackend) : takeLocalHold(request);
}

async function takeLocalHold(request: HoldRequest): Promise<ReleaseHold> {
  const { options } = request;
  const handle: LockHandle = await acquireReleaseLock({
    group: request.group,
    repoId: request.repoId,
    runPid: request.runPid,
    max: options.group.max,
    // Not waiting (lockPolicy warn) means not superseding either: the run goes on without the group.
    cancelInProgress: options.group.cancelInProgress && request.waitTimeoutMs > 0,
    waitTimeoutMs: request.waitTimeoutMs,
    force: options.forceLock,
    command: request.command,
    log: request.log,
  });
  return {
    release: () => handle.release(),
    detach: () => handle.detach(),
    supersededBy: () => describeSupersede(handle),
    lost: () => (handle.compromised && isLockstepError(handle.signal.reason) ? handle.signal.reason : undefined),
  };
}

function isLockstepError(value: unknown): value is LockstepError {
  return value instanceof LockstepError;
}

/**
 * The group as a lease `group:<name>` on a git remote: runs on different
 * machines serialise. Every task of a run acquires as the run (same owner:
 * acquiring again renews), renews every third of the TTL while it lives, and
 * the task that completes the run releases.
 */
async function takeGitHold(request: HoldRequest, backendOptions: { remote: string; ttlMs: number }): Promise<ReleaseHold> {
  const { log, group } = request;
  const backend = createLeaseBackend({
    backend: 'git',
    cwd: request.workspaceRoot,
    remote: backendOptions.remote,
    // A run of this host whose nx process is gone (a failed or killed run) holds nothing: no need to wait out its TTL.
    abandoned: (record) => runIsGone(record.owner),
  });
  const resource = parseResource(`group:${group}`);
  const owner = `run:${request.runId}`;
  const ttlMs = backendOptions.ttlMs;
  const acquired = await backend.acquire(resource, {
    owner,
    ttlMs,
    waitMs: request.waitTimeoutMs,
    onWait: (info) => {
      const holder = info.conflicts[0];
      log(
        `Waiting for ${group} (held by ${holder ? `${holder.owner} on ${holder.hostname} since ${holder.acquiredAt}` : 'another run'}; lease on git remote '${backendOptions.remote}')`,
      );
    },
  });
  if (acquired.tookOver) log(`Took over the lease on ${group} from ${acquired.tookOver.owner} (expired, or its run is gone).`);
  if (!acquired.renewed) log(`Holding ${group} as a lease on git remote '${backendOptions.remote}' (ttl ${formatDuration(ttlMs)}, renewed every ${formatDuration(ttlMs / 3)}).`);
  let lostError: LockstepError | undefined;
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = backend.renew(resource, { owner, ttlMs }).catch((error) => {
      if (lostError) return;
      lostError = new LockstepError(ErrorCodes.ELOCKCOMPROMISED, `The lease on ${group} could not be renewed: ${(error as Error).message}`, {
        hint: 'Another run may have taken the group over (the lease expired: a stalled or disconnected run). Check the other run, then run again to resume.',
      });
      log(`!!! ${lostError.message}`);
    });
  }, Math.max(1000, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      await renewing;
      if (lostError) return false;
      return (await backend.release(resource, { owner })).released;
    },
    detach: () => clearInterval(timer),
    supersededBy: () => undefined,
    lost: () => lostError,
  };
}

/** `run:<host>:<pid>:<start>` of a run on this host whose root process is gone (or is another process now). */
function runIsGone(owner: string): boolean {
  const match = /^run:(.+):(\d+):(\d+)$/.exec(owner);
  if (!match) return false;
  const [, host, pid, start] = match;
  if (host !== systemProcessProbe.hostname()) return false;
  if (!systemProcessProbe.isAlive(Number(pid))) return true;
  const now = systemProcessProbe.startTime(Number(pid));
  return now !== undefined && start !== '0' && now !== start;
}
