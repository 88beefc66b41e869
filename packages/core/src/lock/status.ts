import { resolveLockDir } from './lock-dir';
import { HolderState, inspectHolder, mutexPaths } from './mutex';
import { LockOwner, readOwner } from './owner';
import { ProcessProbe, systemProcessProbe } from './process-probe';
import { listTickets } from './ticket-queue';
import { DEFAULT_STALE_MS } from './lock';

/** An owner as others may see it: without the token that proves ownership. */
export type PublicOwner = Omit<LockOwner, 'token'>;

export interface LockStatus {
  key: string;
  path: string;
  state: HolderState;
  holder?: PublicOwner | null;
  /** Waiters in the order they will be admitted. */
  queue: Array<PublicOwner | null>;
}

function publicOwner(owner: LockOwner | null): PublicOwner | null {
  if (!owner) return null;
  const { token: _token, ...rest } = owner;
  return rest;
}

/** A read-only view of a lock: who holds it, in what state, and who waits. */
export function readLockStatus(
  key: string,
  options: { lockDir?: string; staleMs?: number; probe?: ProcessProbe } = {},
): LockStatus {
  const paths = mutexPaths(options.lockDir ?? resolveLockDir(), key);
  const view = inspectHolder(paths, options.probe ?? systemProcessProbe, options.staleMs ?? DEFAULT_STALE_MS);
  const queue = listTickets(paths)
    .map((t) => readOwner(t.path))
    .filter((o): o is LockOwner | null => o !== undefined);
  return { key, path: paths.base, state: view.state, holder: view.owner === undefined ? undefined : publicOwner(view.owner), queue: queue.map(publicOwner) };
}
