import { LockHandle } from '../lock/lock';
import { describeOwner } from '../lock/owner';
import { systemProcessProbe } from '../lock/process-probe';
import { acquireGroup } from './group';

export const DEFAULT_GROUP_STALE_MS = 30 * 60_000;

export interface ReleaseLockOptions {
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
export async function acquireReleaseLock(options: ReleaseLockOptions): Promise<LockHandle> {
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
