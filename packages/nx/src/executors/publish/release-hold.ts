import {
  safeText,
  LockHandle,
  LockstepError,
  acquireReleaseLock,
  isLockstepError,
  describeSupersede,
  formatDuration,
  parseResource,
} from '@lockstep/core';
import { performance } from 'perf_hooks';
import { LeaseKeeper, gitBackendFor, runOwner, startDetachedRenewer } from './git-hold';
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
  /** host:pid:start of the run. */
  runId: string;
  /** Per-task mode: this process is one task of the run (the lease must outlive it). */
  perTask: boolean;
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

/**
 * The group as a lease `group:<name>` on a git remote: runs on different
 * machines serialise. Every task of a run acquires as the run (same owner:
 * acquiring again renews) and keeps it renewed while it lives (LeaseKeeper);
 * in per-task mode the task that took the lease also starts a detached
 * renewer for the gaps between tasks. The task that completes the run
 * releases.
 */
async function takeGitHold(request: HoldRequest, backendOptions: { remote: string; ttlMs: number }): Promise<ReleaseHold> {
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
