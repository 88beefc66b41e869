import { BigIntStats, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LockstepError, errnoCode } from '../errors';
import {
  lockDirChangedWhileCheckingError,
  lockDirForeignOwnerError,
  lockDirForeignSymlinkAboveError,
  lockDirFsError,
  lockDirNotADirectoryError,
  lockDirOpenToOthersError,
  lockDirParentNotDirectoryError,
  lockDirParentWorldWritableError,
  lockDirRelativeError,
  lockDirReplacedError,
  lockDirSymlinkError,
  lockDirSymlinkLoopError,
  lockDirVanishedError,
} from './errors';

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

/**
 * For an operation that failed with a file-system error under `dir` (a
 * directory resolveLockDir returned): the ELOCKDIRUNSAFE that explains it if
 * `dir` was replaced since it was checked (a symlink or another directory
 * now) or is gone, else undefined. Unlike verifyLockDir it never creates
 * anything: whoever moved it away may be about to put something there.
 */
export function lockDirReplacedSince(dir: string): LockstepError | undefined {
  const known = checked.get(dir);
  if (!known) return undefined;
  try {
    return reverify(known) ? undefined : lockDirVanishedError(known.real);
  } catch (error) {
    return error as LockstepError;
  }
}

/**
 * What to throw for `error`, which arose while working under `dir`: the
 * ELOCKDIRUNSAFE of lockDirReplacedSince when a file-system error (ENOENT
 * from a directory that was there a moment ago) comes from the lock
 * directory being swapped or removed meanwhile, else `error` as it is. So a
 * swap mid-operation is never a bare errno error (EINTERNAL).
 */
export function explainUnderLockDir(dir: string, error: unknown): unknown {
  if (error instanceof LockstepError || errnoCode(error) === undefined) return error;
  return lockDirReplacedSince(dir) ?? error;
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
      throw lockDirRelativeError(explicit, path.join(os.homedir(), '.cache', 'lockstep'));
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
    if (errnoCode(error) === 'ENOENT') return false;
    throw lockDirFsError(known.real, known.real, error);
  }
  if (st.isSymbolicLink() || st.dev !== known.dev || st.ino !== known.ino) {
    const now = st.isSymbolicLink() ? `a symlink to ${readlinkOr(known.real)}` : st.isDirectory() ? `another directory (device ${st.dev}, inode ${st.ino})` : 'not a directory';
    throw lockDirReplacedError(known.real, known, now);
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
    throw lockDirFsError(dir, real, error);
  }
  if (st.isSymbolicLink()) throw symlinkRefused(dir, real);
  if (!st.isDirectory()) throw lockDirNotADirectoryError(dir, real, kindOf(st));
  if (isWindows) return { real, dev: st.dev, ino: st.ino };

  // Owner and mode of the directory we actually opened, without following a symlink.
  const flags = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);
  let fd: number;
  try {
    fd = openSync(real, flags);
  } catch (error) {
    const code = errnoCode(error);
    // ELOOP (Linux) / EMLINK (FreeBSD): it became a symlink after the lstat above.
    if (code === 'ELOOP' || code === 'EMLINK') throw symlinkRefused(dir, real);
    if (code === 'ENOTDIR') throw lockDirNotADirectoryError(dir, real);
    throw lockDirFsError(dir, real, error);
  }
  let fst: BigIntStats;
  try {
    fst = fstatSync(fd, { bigint: true });
  } finally {
    closeSync(fd);
  }
  if (fst.dev !== st.dev || fst.ino !== st.ino) {
    throw lockDirChangedWhileCheckingError(real);
  }
  checkOwnerAndMode(real, fst);
  return { real, dev: fst.dev, ino: fst.ino };
}

function checkOwnerAndMode(dir: string, st: BigIntStats): void {
  if (isWindows) return;
  const uid = myUid();
  if (uid !== undefined && st.uid !== BigInt(uid)) {
    throw lockDirForeignOwnerError(dir, st.uid, uid);
  }
  const mode = Number(st.mode & 0o7777n);
  if ((mode & 0o022) !== 0) {
    throw lockDirOpenToOthersError(dir, mode);
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
      throw lockDirFsError(dir, next, error);
    }
    if (st.isSymbolicLink()) {
      if (uid !== undefined && st.uid !== 0n && st.uid !== BigInt(uid)) throw lockDirForeignSymlinkAboveError(dir, next, st.uid);
      if (++links > MAX_SYMLINKS) throw lockDirSymlinkLoopError(dir);
      let target: string;
      try {
        target = readlinkSync(next);
      } catch (error) {
        throw lockDirFsError(dir, next, error);
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
    throw lockDirFsError(dir, p, error);
  }
}

function checkParent(dir: string, p: string, st: BigIntStats): void {
  if (!st.isDirectory()) {
    throw lockDirParentNotDirectoryError(dir, p, kindOf(st));
  }
  const mode = Number(st.mode & 0o7777n);
  if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
    throw lockDirParentWorldWritableError(dir, p, mode);
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
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  try {
    mkdirSync(p, { mode: 0o700 });
  } catch (error) {
    // EEXIST: another process made it (or planted something) just now; judged below.
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  return lstatSync(p, { bigint: true });
}

/** The directory is a symlink: where it points and whether that exists, for the message. */
function symlinkRefused(dir: string, real: string): LockstepError {
  const target = readlinkOr(real);
  let dangling = false;
  try {
    lstatSync(path.resolve(path.dirname(real), target));
  } catch {
    dangling = true;
  }
  return lockDirSymlinkError(dir, real, target, dangling);
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
