import { mkdirSync, statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, LockstepError } from '../errors';

/**
 * The per-user directory that holds lock state: `$LOCKSTEP_LOCK_DIR`, else
 * `$XDG_RUNTIME_DIR/lockstep`, else `<tmpdir>/lockstep-<uid>`. Created 0700;
 * refused if another user owns it or others may write to it, since anyone who
 * can write there can steal or fake locks.
 */
export function resolveLockDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const dir = env.LOCKSTEP_LOCK_DIR
    ? path.resolve(env.LOCKSTEP_LOCK_DIR)
    : env.XDG_RUNTIME_DIR
      ? path.join(env.XDG_RUNTIME_DIR, 'lockstep')
      : path.join(os.tmpdir(), `lockstep-${uid ?? os.userInfo().username}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  if (uid !== undefined && stat.uid !== uid) {
    throw new LockstepError(ErrorCodes.ELOCKDIRUNSAFE, `The lock directory ${dir} belongs to uid ${stat.uid}, not to you (uid ${uid}).`, {
      hint: `Remove it, or point LOCKSTEP_LOCK_DIR at a directory of your own.`,
    });
  }
  if (process.platform !== 'win32' && (stat.mode & 0o022) !== 0) {
    throw new LockstepError(ErrorCodes.ELOCKDIRUNSAFE, `The lock directory ${dir} is writable by other users (mode ${(stat.mode & 0o777).toString(8)}).`, {
      hint: `Run 'chmod 700 ${dir}', or point LOCKSTEP_LOCK_DIR at a private directory.`,
    });
  }
  return dir;
}
