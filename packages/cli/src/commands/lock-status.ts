import { realpathSync } from 'fs';
import { type LockStatus, describeOwner, readLockStatus } from '@lockstep/core';

/**
 * The core lock a generate target takes on its outDir (`path:<real path>`):
 * who holds it, in what state, and who waits, in admission order. Shown by
 * `lockstep lock status --resource path:<dir>` on the local backend, beside
 * the leases.
 */
export function generateLockStatus(absoluteDir: string, lockDir: string): { data: LockStatus; lines: string[] } {
  const key = `path:${realpathOrResolved(absoluteDir)}`;
  const status = readLockStatus(key, { lockDir });
  const lines = [`generate lock ${key}: ${status.state}${status.holder ? `, held by ${describeOwner(status.holder)}` : ''}`];
  status.queue.forEach((waiter, i) => lines.push(`  ${i + 1}. ${waiter ? describeOwner(waiter) : '(unreadable ticket)'}`));
  if (status.queue.length === 0) lines.push('  no waiters');
  return { data: status, lines };
}

function realpathOrResolved(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}
