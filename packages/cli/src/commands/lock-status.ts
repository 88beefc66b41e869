import { realpathSync } from 'fs';
import { type LockStatus, type LockOwner, describeOwner, readLockStatus, safeText } from '@lockstep/core';

/**
 * The core lock a generate target takes on its outDir (`path:<real path>`):
 * who holds it, in what state, and who waits, in admission order. Shown by
 * `lockstep lock status --resource path:<dir>` on the local backend, beside
 * the leases.
 */
export function generateLockStatus(absoluteDir: string, lockDir: string): { data: LockStatus; lines: string[] } {
  const key = `path:${realpathOrResolved(absoluteDir)}`;
  const status = readLockStatus(key, { lockDir });
  const lines = [`generate lock ${safeText(key, 1100)}: ${status.state}${status.holder ? `, held by ${shownOwner(status.holder)}` : ''}`];
  status.queue.forEach((waiter, i) => lines.push(`  ${i + 1}. ${waiter ? shownOwner(waiter) : '(unreadable ticket)'}`));
  if (status.queue.length === 0) lines.push('  no waiters');
  return { data: status, lines };
}

/** An owner file is written by any process of the user (or planted): its fields are shown escaped and cut. */
export function shownOwner(owner: Omit<LockOwner, 'token'>): string {
  return safeText(describeOwner(owner), 600);
}

function realpathOrResolved(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}
