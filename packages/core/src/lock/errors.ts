import { ErrorCodes, LockstepError, errnoCode } from '../errors';
import { safeText } from '../util/display';
import { type LockOwner, describeOwner } from './owner';

/**
 * Every error of the lock area: the single-flight lock (lock.ts) and the
 * per-user lock directory (lock-dir.ts). See errors.ts for the convention.
 * Messages name the thing waited for with `what` ("the lock on path:/x", or
 * "the concurrency group deploy" when a group is acquired through the lock),
 * which the caller passes to acquireLock: nobody rewrites these messages.
 */

/** `what` with a capital: the start of a sentence. */
function sentence(what: string): string {
  return what.charAt(0).toUpperCase() + what.slice(1);
}

// --------------------------------------------------------------------- lock

/** EBADOPTIONS: `max` is not a whole number ≥ 1. */
export function lockMaxError(max: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `max must be a whole number ≥ 1, not ${safeText(String(max), 40)}.`, { hint: 'Use max: 1 for a plain lock.' });
}

/** EBADOPTIONS: a live process of another run uses the same key with another `max`. */
export function lockMaxMismatchError(me: LockOwner, other: LockOwner): LockstepError {
  return new LockstepError(
    ErrorCodes.EBADOPTIONS,
    `${me.key} is in use with max ${other.max} by pid ${other.pid}@${safeText(other.hostname)} ('${safeText(other.command)}'), and this process asks for max ${me.max}.`,
    { hint: `Every run of one group must use the same max. Change it once the group is free: 'lockstep group status --group ${me.key.replace(/^group:/, '')}' shows who holds it and who waits.` },
  );
}

export interface LockTimeoutDetails {
  /** What was waited for, e.g. "the lock on path:/x". */
  what: string;
  /** The holder when known (else: others are ahead in the queue). */
  holder?: LockOwner | null;
  waitedMs: number;
  /** The holder's entry, named in the default hint as the thing to remove by hand. */
  heldPath: string;
  /** Replaces the default hint (how to wait longer differs per caller). */
  hint?: string;
}

/** ELOCKTIMEOUT: waited `waitedMs` for the lock, naming who holds it. */
export function lockTimeoutError(details: LockTimeoutDetails): LockstepError {
  const who = details.holder ? `It is held by ${describeOwner(details.holder)}.` : 'Other processes are ahead of this one in the queue.';
  return new LockstepError(ErrorCodes.ELOCKTIMEOUT, `Timed out after ${Math.round(details.waitedMs / 1000)} s waiting for ${details.what}. ${who}`, {
    hint:
      details.hint ??
      `Wait for that process to finish, or stop it; a dead holder is reclaimed automatically. ` +
        `If it is stuck, remove ${details.heldPath} by hand. Raise the wait with lockTimeoutMs or LOCKSTEP_LOCK_TIMEOUT_MS.`,
  });
}

/** EABORTED: the caller's signal stopped the wait; nothing is held and the queue was left. */
export function lockWaitAbortedError(what: string, cause?: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EABORTED, `Stopped waiting for ${what}.`, {
    cause,
    hint: 'The wait was given up (the caller was asked to stop); nothing is held and this process left the queue. Run again to wait anew.',
  });
}

/** EABORTED: a termination signal arrived while waiting in the queue. */
export function lockWaitInterruptedError(what: string, signal: string): LockstepError {
  return new LockstepError(ErrorCodes.EABORTED, `Interrupted by ${signal} while waiting for ${what}; left the queue.`, {
    hint: 'The process was asked to stop while it waited; nothing is held and the runs behind it moved up. Run again to wait anew.',
  });
}

/** EABORTED (the handle's signal): a termination signal arrived while holding; the hold was released. */
export function lockReleasedOnSignalError(what: string, signal: string): LockstepError {
  return new LockstepError(ErrorCodes.EABORTED, `Interrupted by ${signal}; ${what} was released.`, {
    hint: 'The process was asked to stop while it held the lock; the next run in the queue takes it.',
  });
}

/** Why a hold was lost. */
export type LockLoss = { stalledMs: number; staleMs: number } | { takenOver: true } | { refreshFailed: unknown };

/** ELOCKCOMPROMISED: the hold was lost while held. */
export function lockCompromisedError(what: string, loss: LockLoss): LockstepError {
  const message =
    'stalledMs' in loss
      ? `${sentence(what)} was not refreshed for ${Math.round(loss.stalledMs)} ms (stale window ${loss.staleMs} ms): this process stalled and the lock may have been taken over.`
      : 'takenOver' in loss
        ? `${sentence(what)} was taken over or removed while this process held it.`
        : `${sentence(what)} could not be refreshed: ${(loss.refreshFailed as Error)?.message ?? String(loss.refreshFailed)}`;
  return new LockstepError(ErrorCodes.ELOCKCOMPROMISED, message, {
    hint: 'Another process may have run in parallel with this one; check its output and run again.',
  });
}

// ------------------------------------------------------------ lock directory

const SET_DIR = 'set LOCKSTEP_LOCK_DIR to an absolute private directory';

function lockDirUnsafeError(message: string, hint: string, cause?: unknown): LockstepError {
  return new LockstepError(ErrorCodes.ELOCKDIRUNSAFE, message, cause === undefined ? { hint } : { hint, cause });
}

function askedFor(dir: string, real: string): string {
  return dir !== real ? ` (asked for ${dir})` : '';
}

/** ELOCKDIRUNSAFE: LOCKSTEP_LOCK_DIR is a relative path. */
export function lockDirRelativeError(explicit: string, example: string): LockstepError {
  return lockDirUnsafeError(
    `LOCKSTEP_LOCK_DIR must be an absolute path, not '${explicit}' (a relative one would name a different directory in every working directory).`,
    `Set LOCKSTEP_LOCK_DIR to an absolute private directory, e.g. ${example}.`,
  );
}

/** ELOCKDIRUNSAFE: the directory checked earlier in this process is now another one, a symlink, or not a directory. */
export function lockDirReplacedError(real: string, was: { dev: bigint; ino: bigint }, now: string): LockstepError {
  return lockDirUnsafeError(
    `The lock directory ${real} was replaced while this process was using it: it was device ${was.dev}, inode ${was.ino}, now it is ${now}. Locks taken before and after would not see each other.`,
    `Find out what moved or re-created ${real} and stop it, then run again; if other users can write where it lives, ${SET_DIR}.`,
  );
}

/** ELOCKDIRUNSAFE: the directory disappeared (removed or moved away) while an operation was working in it. */
export function lockDirVanishedError(real: string): LockstepError {
  return lockDirUnsafeError(
    `The lock directory ${real} disappeared while this process was using it (removed or moved away): what this operation had written there is gone.`,
    `Find out what removes or moves ${real} (a temp-file cleaner, another user) and stop it, then run again; if others can write where it lives, ${SET_DIR}.`,
  );
}

/** ELOCKDIRUNSAFE: the directory was swapped between its lstat and its open. */
export function lockDirChangedWhileCheckingError(real: string): LockstepError {
  return lockDirUnsafeError(`The lock directory ${real} changed while lockstep was checking it (another process replaced it).`, `Find out what is replacing ${real}; ${SET_DIR}.`);
}

/** ELOCKDIRUNSAFE: the directory belongs to another user. */
export function lockDirForeignOwnerError(dir: string, uid: bigint, myUid: number): LockstepError {
  return lockDirUnsafeError(
    `The lock directory ${dir} belongs to uid ${uid}, not to you (uid ${myUid}): its owner could steal or fake your locks.`,
    `Remove it (if it is not yours, ask its owner or root), or ${SET_DIR} of your own.`,
  );
}

/** ELOCKDIRUNSAFE: group or others may write to the directory. */
export function lockDirOpenToOthersError(dir: string, mode: number): LockstepError {
  return lockDirUnsafeError(
    `The lock directory ${dir} is writable by ${mode & 0o002 ? 'every user' : 'its group'} (mode ${(mode & 0o777).toString(8)}): they could steal or fake your locks.`,
    `Run 'chmod 700 ${dir}', or ${SET_DIR}.`,
  );
}

/** ELOCKDIRUNSAFE: a directory above it is a symlink of another user (not root). */
export function lockDirForeignSymlinkAboveError(dir: string, link: string, uid: bigint): LockstepError {
  return lockDirUnsafeError(
    `The lock directory ${dir} lies under ${link}, a symlink that belongs to uid ${uid} (not to you or root): its owner can re-point it and move your locks.`,
    `Set LOCKSTEP_LOCK_DIR to an absolute private directory whose parents belong to you or root.`,
  );
}

/** ELOCKDIRUNSAFE: too many symlinks above it. */
export function lockDirSymlinkLoopError(dir: string): LockstepError {
  return lockDirUnsafeError(`The lock directory ${dir} cannot be resolved: too many symlinks above it (a loop?).`, 'Set LOCKSTEP_LOCK_DIR to an absolute private directory (mode 700, yours).');
}

/** ELOCKDIRUNSAFE: something that is not a directory lies on the way to it. */
export function lockDirParentNotDirectoryError(dir: string, parent: string, kind: string): LockstepError {
  return lockDirUnsafeError(`The lock directory ${dir} cannot be created: ${parent} is ${kind}, not a directory.`, `Remove ${parent}, or ${SET_DIR}.`);
}

/** ELOCKDIRUNSAFE: a directory above it is writable by everyone without the sticky bit. */
export function lockDirParentWorldWritableError(dir: string, parent: string, mode: number): LockstepError {
  return lockDirUnsafeError(
    `The lock directory ${dir} lies under ${parent}, which every user may write to without the sticky bit (mode ${(mode & 0o7777).toString(8)}): anyone could replace the lock directory.`,
    `Run 'chmod +t ${parent}' (or 'chmod o-w ${parent}'), or ${SET_DIR}.`,
  );
}

/** ELOCKDIRUNSAFE: the directory itself is a symlink (lockstep never follows one there). */
export function lockDirSymlinkError(dir: string, real: string, target: string, dangling: boolean): LockstepError {
  return lockDirUnsafeError(
    `The lock directory ${real} is a symlink (to ${target}${dangling ? ', which does not exist' : ''}): lockstep does not follow one there, since whoever can re-point it can move your locks.`,
    `Remove the symlink ('rm ${real}') and lockstep creates a private directory there, or ${SET_DIR}.${askedFor(dir, real)}`,
  );
}

/** ELOCKDIRUNSAFE: the directory is a file, a socket, … */
export function lockDirNotADirectoryError(dir: string, real: string, kind?: string): LockstepError {
  return lockDirUnsafeError(`The lock directory ${real} is ${kind ?? 'not a directory'}, not a directory.`, `Remove it ('rm ${real}') if it is yours, or ${SET_DIR}.${askedFor(dir, real)}`);
}

const FS_WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symlinks',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'the path is too long',
};

/** ELOCKDIRUNSAFE: the file system refused (EACCES, ENOTDIR, EROFS, …) at `at`. */
export function lockDirFsError(dir: string, at: string, error: unknown): LockstepError {
  const code = errnoCode(error) ?? 'unknown error';
  return lockDirUnsafeError(
    `The lock directory ${dir} cannot be used: ${at}: ${FS_WHY[code] ?? (error as Error)?.message ?? String(error)} (${code}).`,
    code === 'ENOTDIR' ? `Remove the file in the way, or ${SET_DIR}.` : 'Set LOCKSTEP_LOCK_DIR to an absolute private directory (mode 700, yours).',
    error,
  );
}
