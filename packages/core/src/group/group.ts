import { formatDuration } from '../util/duration';
import { safeText } from '../util/display';
import { AcquireOptions, LockHandle, acquireLock } from '../lock/lock';
import { LockOwner } from '../lock/owner';
import { LockStatus, readLockStatus } from '../lock/status';
import { killGraceFromEnv } from '../lock/supersede';
import { groupTimeoutHint } from './errors';

export const DEFAULT_GROUP_WAIT_MS = 60 * 60_000;

export interface GroupOptions {
  /** The resolved group name, as shown to people. */
  group: string;
  /** The lock key. Default `group:<group>`. */
  key?: string;
  /** Runs holding the group at once. Default 1. */
  max?: number;
  /** Supersede the runs ahead instead of waiting behind them. */
  cancelInProgress?: boolean;
  /** Default 1 h. 0: do not wait. */
  waitTimeoutMs?: number;
  /** SIGTERM → SIGKILL window for superseded runs. Default LOCKSTEP_KILL_GRACE_MS or 30 s. */
  killGraceMs?: number;
  log: (line: string) => void;
  /** Passed through to the core lock. */
  lock?: Omit<AcquireOptions, 'max' | 'supersede' | 'onWait' | 'timeoutMs' | 'what' | 'timeoutHint'>;
}

export function groupKey(options: Pick<GroupOptions, 'group' | 'key'>): string {
  return options.key ?? `group:${options.group}`;
}

/**
 * Enters a concurrency group: up to `max` runs hold it at once, the others
 * queue in arrival order (FIFO tickets on the core lock) and are told every
 * 10 s what they wait for. With `cancelInProgress` a newer run supersedes the
 * runs ahead of it: SIGTERM, the grace window, then SIGKILL.
 */
export async function acquireGroup(options: GroupOptions): Promise<LockHandle> {
  const { group, log } = options;
  const graceMs = options.killGraceMs ?? killGraceFromEnv();
  return acquireLock(groupKey(options), {
    ...options.lock,
    max: options.max ?? 1,
    timeoutMs: options.waitTimeoutMs ?? DEFAULT_GROUP_WAIT_MS,
    what: `the concurrency group ${group}`,
    timeoutHint: groupTimeoutHint(group),
    supersede: options.cancelInProgress
      ? {
          graceMs,
          onSupersede: (target, action, role) =>
            log(
              action === 'SIGTERM'
                ? `cancelInProgress: superseding the ${role === 'holder' ? 'run holding' : 'run queued for'} ${group}, ${who(target)} (SIGTERM; SIGKILL after ${formatDuration(graceMs)})`
                : `cancelInProgress: ${who(target)} did not stop within ${formatDuration(graceMs)}: SIGKILL`,
            ),
        }
      : undefined,
    onWait: (info) =>
      log(
        `Waiting for ${group} (${info.ahead} ahead${info.holder ? `, held by ${info.holder.pid}@${safeText(info.holder.hostname)} since ${safeText(info.holder.startedAt)}` : ''}${
          info.otherHolders ? ` and ${info.otherHolders} more` : ''
        })`,
      ),
  });
}

function who(owner: LockOwner): string {
  return `pid ${owner.pid}@${safeText(owner.hostname)} ('${safeText(owner.command)}')`;
}

export interface GroupStatus extends LockStatus {
  group: string;
}

export function readGroupStatus(options: Pick<GroupOptions, 'group' | 'key'> & { lockDir?: string; staleMs?: number }): GroupStatus {
  return { group: options.group, ...readLockStatus(groupKey(options), { lockDir: options.lockDir, staleMs: options.staleMs }) };
}

/** "Superseded by pid 123@host ('…') at <time>": what a superseded run says. */
export function describeSupersede(handle: LockHandle | undefined): string | undefined {
  const request = handle?.supersededBy();
  return request ? `superseded by pid ${request.by.pid}@${request.by.hostname} ('${request.by.command}') at ${request.at}` : undefined;
}
