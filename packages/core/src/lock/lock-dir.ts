import { BigIntStats, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, LockstepError } from '../errors';

/**
 * The per-user directory that holds lock state: `$LOCKSTEP_LOCK_DIR` (must be
 * absolute), else `$XDG_RUNTIME_DIR/lockstep`, else `<tmpdir>/lockstep-<uid>`.
 * Created 0700. Anyone who can write there, or re-point the path, can steal or
 * fake locks, so it is refused (ELOCKDIRUNSAFE) when:
 *
 * - the directory itself is a symlink (dangling or not), or not a directory;
 * - it belongs to another user, or group or others may write to it (checked
 *   with fstat on the directory opened O_DIRECTORY|O_NOFOLLOW, not on a path);
 * - a directory above it is a symlink owned by someone other than you or root,
 *   or is writable by everyone without the sticky bit (anyone could swap it);
 * - it cannot be created or opened at all (a file in the way, EACCES, …).
 *
 * Returned is the directory's real path (no symlinks in it), which callers use
 * for the rest of the run. The first check is remembered per process: later
 * calls (every lock acquire) only lstat the directory and refuse if it is no
 * longer the very directory (device + inode) that was checked, so it cannot be
 * swapped for another one mid-run. If it was removed, it is checked and
 * created anew.
 */
export function resolveLockDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = lockDirPath(env);
  const known = checked.get(dir);
  if (known && reverify(known)) return known.real;
  const found = checkLockDir(dir);
  checked.set(dir, found);
  checked.set(found.real, found);
  return found.real;
}

/**
 * Re-verifies a directory that resolveLockDir returned earlier in this process
 * (one lstat): throws ELOCKDIRUNSAFE if it was replaced or opened up since. A
 * directory resolveLockDir never returned (an explicit `lockDir` option) is
 * left alone. For holders of a resolved path that they keep (the lease store).
 */
export function verifyLockDir(dir: string): void {
  const known = checked.get(dir);
  if (known && !reverify(known)) {
    // Removed since: check (and create) it anew; the same path must come out.
    const found = checkLockDir(known.real);
    checked.set(known.real, found);
  }
}

interface CheckedDir {
  /** The directory's path without symlinks: what callers use. */
  real: string;
  dev: bigint;
  ino: bigint;
}

/** Per process: every lock directory checked so far, by the path asked for and by its real path. */
const checked = new Map<string, CheckedDir>();

const isWindows = process.platform === 'win32';
const MAX_SYMLINKS = 40;

function myUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function lockDirPath(env: NodeJS.ProcessEnv): string {
  const explicit = env.LOCKSTEP_LOCK_DIR;
  if (explicit) {
    if (!path.isAbsolute(explicit)) {
      throw unsafe(`LOCKSTEP_LOCK_DIR must be an absolute path, not '${explicit}' (a relative one would name a different directory in every working directory).`, {
        hint: `Set LOCKSTEP_LOCK_DIR to an absolute private directory, e.g. ${path.join(os.homedir(), '.cache', 'lockstep')}.`,
      });
    }
    return path.normalize(explicit);
  }
  // The XDG spec: a relative XDG_RUNTIME_DIR is invalid and ignored.
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) return path.join(path.normalize(xdg), 'lockstep');
  const uid = myUid();
  return path.join(os.tmpdir(), `lockstep-${uid ?? os.userInfo().username}`);
}

/**
 * The cheap check of a directory checked before: one lstat. False if it is
 * gone (the caller checks and creates it anew); throws if something else is
 * there now or it was opened up to others.
 */
function reverify(known: CheckedDir): boolean {
  let st: BigIntStats;
  try {
    st = lstatSync(known.real, { bigint: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw fsUnsafe(known.real, known.real, error);
  }
  if (st.isSymbolicLink() || st.dev !== known.dev || st.ino !== known.ino) {
    const now = st.isSymbolicLink() ? `a symlink to ${readlinkOr(known.real)}` : st.isDirectory() ? `another directory (device ${st.dev}, inode ${st.ino})` : 'not a directory';
    throw unsafe(
      `The lock directory ${known.real} was replaced while this process was using it: it was device ${known.dev}, inode ${known.ino}, now it is ${now}. Locks taken before and after would not see each other.`,
      { hint: `Find out what moved or re-created ${known.real} and stop it, then run again; if other users can write where it lives, set LOCKSTEP_LOCK_DIR to an absolute private directory.` },
    );
  }
  checkOwnerAndMode(known.real, st);
  return true;
}

/** The full check (and creation) of the lock directory `dir` (absolute, normalized). */
function checkLockDir(dir: string): CheckedDir {
  const parent = isWindows ? path.dirname(dir) : walkParents(dir);
  const real = path.join(parent, path.basename(dir));
  let st: BigIntStats;
  try {
    st = lstatOrCreate(real);
  } catch (error) {
    throw fsUnsafe(dir, real, error);
  }
  if (st.isSymbolicLink()) throw symlinkRefused(dir, real);
  if (!st.isDirectory()) throw notADirectory(dir, real, st);
  if (isWindows) return { real, dev: st.dev, ino: st.ino };

  // Owner and mode of the directory we actually opened, without following a symlink.
  const flags = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);
  let fd: number;
  try {
    fd = openSync(real, flags);
  } catch (error) {
    const code = errorCode(error);
    // ELOOP (Linux) / EMLINK (FreeBSD): it became a symlink after the lstat above.
    if (code === 'ELOOP' || code === 'EMLINK') throw symlinkRefused(dir, real);
    if (code === 'ENOTDIR') throw notADirectory(dir, real);
    throw fsUnsafe(dir, real, error);
  }
  let fst: BigIntStats;
  try {
    fst = fstatSync(fd, { bigint: true });
  } finally {
    closeSync(fd);
  }
  if (fst.dev !== st.dev || fst.ino !== st.ino) {
    throw unsafe(`The lock directory ${real} changed while lockstep was checking it (another process replaced it).`, {
      hint: `Find out what is replacing ${real}; set LOCKSTEP_LOCK_DIR to an absolute private directory.`,
    });
  }
  checkOwnerAndMode(real, fst);
  return { real, dev: fst.dev, ino: fst.ino };
}

function checkOwnerAndMode(dir: string, st: BigIntStats): void {
  if (isWindows) return;
  const uid = myUid();
  if (uid !== undefined && st.uid !== BigInt(uid)) {
    throw unsafe(`The lock directory ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}): its owner could steal or fake your locks.`, {
      hint: `Remove it (if it is not yours, ask its owner or root), or set LOCKSTEP_LOCK_DIR to an absolute private directory of your own.`,
    });
  }
  const mode = Number(st.mode & 0o7777n);
  if ((mode & 0o022) !== 0) {
    throw unsafe(`The lock directory ${dir} is writable by ${mode & 0o002 ? 'every user' : 'its group'} (mode ${(mode & 0o777).toString(8)}): they could steal or fake your locks.`, {
      hint: `Run 'chmod 700 ${dir}', or set LOCKSTEP_LOCK_DIR to an absolute private directory.`,
    });
  }
}

/**
 * Walks the directories above `dir` from the root, creating missing ones
 * (0700), and returns the parent's real path. A symlink on the way is followed
 * only if it belongs to you or root; a directory every user may write to must
 * have the sticky bit (as /tmp does), or anyone could swap what lies below it.
 */
function walkParents(dir: string): string {
  const uid = myUid();
  const root = path.parse(dir).root;
  let todo = split(path.dirname(dir));
  let real = root;
  let links = 0;
  checkParent(dir, root, lstatParent(dir, root));
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      real = path.dirname(real);
      continue;
    }
    const next = path.join(real, name);
    let st: BigIntStats;
    try {
      st = lstatOrCreate(next);
    } catch (error) {
      throw fsUnsafe(dir, next, error);
    }
    if (st.isSymbolicLink()) {
      if (uid !== undefined && st.uid !== 0n && st.uid !== BigInt(uid)) {
        throw unsafe(`The lock directory ${dir} lies under ${next}, a symlink that belongs to uid ${st.uid} (not to you or root): its owner can re-point it and move your locks.`, {
          hint: `Set LOCKSTEP_LOCK_DIR to an absolute private directory whose parents belong to you or root.`,
        });
      }
      if (++links > MAX_SYMLINKS) throw unsafe(`The lock directory ${dir} cannot be resolved: too many symlinks above it (a loop?).`, { hint: setDirHint });
      let target: string;
      try {
        target = readlinkSync(next);
      } catch (error) {
        throw fsUnsafe(dir, next, error);
      }
      if (path.isAbsolute(target)) real = path.parse(target).root;
      todo = [...split(target), ...todo];
      continue;
    }
    checkParent(dir, next, st);
    real = next;
  }
  return real;
}

function lstatParent(dir: string, p: string): BigIntStats {
  try {
    return lstatSync(p, { bigint: true });
  } catch (error) {
    throw fsUnsafe(dir, p, error);
  }
}

function checkParent(dir: string, p: string, st: BigIntStats): void {
  if (!st.isDirectory()) {
    throw unsafe(`The lock directory ${dir} cannot be created: ${p} is ${kindOf(st)}, not a directory.`, {
      hint: `Remove ${p}, or set LOCKSTEP_LOCK_DIR to an absolute private directory.`,
    });
  }
  const mode = Number(st.mode & 0o7777n);
  if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
    throw unsafe(`The lock directory ${dir} lies under ${p}, which every user may write to without the sticky bit (mode ${(mode & 0o7777).toString(8)}): anyone could replace the lock directory.`, {
      hint: `Run 'chmod +t ${p}' (or 'chmod o-w ${p}'), or set LOCKSTEP_LOCK_DIR to an absolute private directory.`,
    });
  }
}

function split(p: string): string[] {
  return p.split(path.sep).filter((part) => part !== '');
}

/** lstat, creating the directory (0700, never through a symlink at `p` itself) if nothing is there. */
function lstatOrCreate(p: string): BigIntStats {
  try {
    return lstatSync(p, { bigint: true });
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  try {
    mkdirSync(p, { mode: 0o700 });
  } catch (error) {
    // EEXIST: another process made it (or planted something) just now; judged below.
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  return lstatSync(p, { bigint: true });
}

const setDirHint = 'Set LOCKSTEP_LOCK_DIR to an absolute private directory (mode 700, yours).';

function symlinkRefused(dir: string, real: string): LockstepError {
  const target = readlinkOr(real);
  let dangling = false;
  try {
    lstatSync(path.resolve(path.dirname(real), target));
  } catch {
    dangling = true;
  }
  return unsafe(
    `The lock directory ${real} is a symlink (to ${target}${dangling ? ', which does not exist' : ''}): lockstep does not follow one there, since whoever can re-point it can move your locks.`,
    { hint: `Remove the symlink ('rm ${real}') and lockstep creates a private directory there, or set LOCKSTEP_LOCK_DIR to an absolute private directory.${dir !== real ? ` (asked for ${dir})` : ''}` },
  );
}

function notADirectory(dir: string, real: string, st?: BigIntStats): LockstepError {
  return unsafe(`The lock directory ${real} is ${st ? kindOf(st) : 'not a directory'}, not a directory.`, {
    hint: `Remove it ('rm ${real}') if it is yours, or set LOCKSTEP_LOCK_DIR to an absolute private directory.${dir !== real ? ` (asked for ${dir})` : ''}`,
  });
}

function fsUnsafe(dir: string, at: string, error: unknown): LockstepError {
  const code = errorCode(error) ?? 'unknown error';
  const what: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a part of the path is not a directory',
    ELOOP: 'too many symlinks',
    EROFS: 'read-only file system',
    ENAMETOOLONG: 'the path is too long',
  };
  return unsafe(`The lock directory ${dir} cannot be used: ${at}: ${what[code] ?? (error as Error)?.message ?? String(error)} (${code}).`, {
    hint: code === 'ENOTDIR' ? `Remove the file in the way, or set LOCKSTEP_LOCK_DIR to an absolute private directory.` : setDirHint,
    cause: error,
  });
}

function kindOf(st: BigIntStats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isSocket()) return 'a socket';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'something else';
}

function readlinkOr(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '?';
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

function unsafe(message: string, options: { hint: string; cause?: unknown }): LockstepError {
  return new LockstepError(ErrorCodes.ELOCKDIRUNSAFE, message, options);
}
