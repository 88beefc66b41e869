import { LockHandle } from '../lock/lock';
import { describeOwner } from '../lock/owner';
import { systemProcessProbe } from '../lock/process-probe';
import { acquireGroup, describeSupersede } from '../group/group';
import { isLockstepError } from '../errors';
import type { ReleaseLock, ReleaseLockRequest } from './release-lock';

export const DEFAULT_GROUP_STALE_MS = 30 * 60_000;

export interface LocalReleaseLockOptions {
  /** The resolved concurrency group, e.g. "publish" or "release-main". */
  group: string;
  /** repositoryIdentity(workspaceRoot): two checkouts of one repo share the lock. */
  repoId: string;
  /** The run's root process (NX_INVOCATION_ROOT_PID): all tasks of the run share the hold. */
  runPid: number;
  waitTimeoutMs: number;
  /** Runs holding the group at once. Default 1. */
  max?: number;
  cancelInProgress?: boolean;
  killGraceMs?: number;
  staleMs?: number;
  force?: boolean;
  command: string;
  lockDir?: string;
  log: (line: string) => void;
}

/**
 * The release lock: the concurrency group on the core lock, held by a run
 * (one Nx invocation) rather than by one task process. Waiting runs queue in
 * arrival order and are told who holds it every 10 s.
 */
export async function acquireLocalReleaseLock(options: LocalReleaseLockOptions): Promise<LockHandle> {
  const { group, log } = options;
  return acquireGroup({
    group,
    key: `group:${group}@${options.repoId}`,
    max: options.max,
    cancelInProgress: options.cancelInProgress,
    waitTimeoutMs: options.waitTimeoutMs,
    killGraceMs: options.killGraceMs,
    log,
    lock: {
      share: true,
      pid: options.runPid,
      staleMs: options.staleMs ?? DEFAULT_GROUP_STALE_MS,
      heartbeatMs: 10_000,
      command: options.command,
      lockDir: options.lockDir,
      probe: systemProcessProbe,
      force: options.force,
      onForce: (holder) =>
        log(`!!! forceLock: breaking the release lock of group '${group}' held by ${holder ? describeOwner(holder) : 'an unreadable owner'}. Two releases may now overlap.`),
    },
  });
}

/** The release lock on this machine: a concurrency group of the core lock, held by the run. */
export async function takeLocalReleaseLock(request: ReleaseLockRequest): Promise<ReleaseLock> {
  const { options } = request;
  const handle: LockHandle = await acquireLocalReleaseLock({
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

