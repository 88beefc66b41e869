import { realpathSync } from 'fs';
import * as path from 'path';
import { ErrorCodes, LockstepError, describeOwner, readLockStatus } from '@lockstep/core';

/**
 * `lockstep lock status --resource path:<dir>`: who holds the lock of a
 * generate outDir, in what state, and who waits, in admission order.
 */
export function lockStatus(resource: string | undefined, cwd: string): { data: unknown; text: string } {
  if (!resource) {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, 'lock status needs --resource.', { hint: 'For a generate outDir: lockstep lock status --resource path:dist/gen/app' });
  }
  const colon = resource.indexOf(':');
  const namespace = colon > 0 ? resource.slice(0, colon) : '';
  if (namespace !== 'path') {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `Unknown resource namespace in '${resource}'.`, {
      hint: 'Use path:<directory>, the lock a generate target takes on its outDir.',
    });
  }
  const key = `path:${realpathOrResolved(path.resolve(cwd, resource.slice(colon + 1)))}`;
  const status = readLockStatus(key);
  const lines = [`${key}: ${status.state}${status.holder ? `, held by ${describeOwner(status.holder)}` : ''}`];
  status.queue.forEach((waiter, i) => lines.push(`  ${i + 1}. ${waiter ? describeOwner(waiter) : '(unreadable ticket)'}`));
  if (status.queue.length === 0) lines.push('  no waiters');
  return { data: status, text: lines.join('\n') };
}

function realpathOrResolved(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}
