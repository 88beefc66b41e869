import { resolveLockDir } from './lock-dir';
import { HolderState, heldSlots, inspectHolder, mutexPaths, slotPaths } from './mutex';
import { LockOwner, readOwner } from './owner';
import { ProcessProbe, systemProcessProbe } from './process-probe';
import { listTickets } from './ticket-queue';
import { DEFAULT_STALE_MS } from './lock';

/** An owner as others may see it: without the token that proves ownership. */
export type PublicOwner = Omit<LockOwner, 'token'>;

export interface SlotStatus {
  slot: number;
  state: HolderState;
  holder: PublicOwner | null;
}

export interface LockStatus {
  key: string;
  path: string;
  /** Slot 0, the plain lock. */
  state: HolderState;
  holder?: PublicOwner | null;
  /** Every held slot (a group with `max` > 1 has several), in slot order. */
  holders: SlotStatus[];
  /** Waiters in the order they will be admitted. */
  queue: Array<PublicOwner | null>;
}

export function publicOwner(owner: LockOwner | null): PublicOwner | null {
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
  const probe = options.probe ?? systemProcessProbe;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const view = inspectHolder(paths, probe, staleMs);
  const holders: SlotStatus[] = [];
  for (const slot of heldSlots(paths)) {
    const slotView = slot === 0 ? view : inspectHolder(slotPaths(paths, slot), probe, staleMs);
    if (slotView.owner !== undefined) holders.push({ slot, state: slotView.state, holder: publicOwner(slotView.owner) });
  }
  const queue = listTickets(paths)
    .map((t) => readOwner(t.path))
    .filter((o): o is LockOwner | null => o !== undefined);
  return {
    key,
    path: paths.base,
    state: view.state,
    holder: view.owner === undefined ? undefined : publicOwner(view.owner),
    holders,
    queue: queue.map(publicOwner),
  };
}
