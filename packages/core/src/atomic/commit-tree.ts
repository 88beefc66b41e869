import { closeSync, constants as fsConstants, fstatSync, promises as fsp, openSync, readSync } from 'fs';
import * as path from 'path';
import { LockstepError, errnoCode } from '../errors';
import { fileAndDirectoryError, outDirChangedError } from './errors';
import { mapLimit } from '../util/map-limit';
import { assertNoSymlinkEscape, normalizeEmittedPath } from './confine';
import { isTempFileName, tempSiblingPath } from './temp-name';
import { writeFileAtomicFast } from './write-fast';
import { lstatOrUndefined } from '../util/fs';

/**
 * Where a file's new bytes come from: memory, a staged file on outDir's
 * filesystem (renamed into place, so it is consumed), or a file to copy (a
 * stash that stays as it is; copied to a temp file in `tempDir`, then renamed).
 */
export type FileSource = { data: string | Uint8Array } | { stagedPath: string } | { copyFrom: string };

export interface CommitFile {
  /** Path relative to outDir, as emitted; normalised and confined here. */
  path: string;
  source: FileSource;
  /**
   * Permission bits (0o777) the file must have, e.g. 0o755 for a script.
   * Default: a staged or copied file keeps its own, bytes from memory get
   * 0o644 (less the umask). A file whose bytes are the same but whose mode
   * differs gets the new mode in place (chmod does not change what a reader
   * reads).
   */
  mode?: number;
}

/**
 * What a commit may remove of what it did not produce: `true` everything,
 * `false` nothing, `{ only }` just these paths (files an earlier commit wrote),
 * so that files lockstep never wrote are left where they are.
 */
export type PruneMode = boolean | { only: ReadonlySet<string> };

export interface CommitOptions {
  /** Remove files of outDir that this commit did not produce (then directories this emptied). Default true. */
  prune?: PruneMode;
  /** Parallel file operations. Default 32. */
  concurrency?: number;
  /** Sweep temp files leaked by killed runs first. Default true; only safe under outDir's lock. */
  sweep?: boolean;
  /** Write temp files here (same filesystem as outDir) instead of beside their targets. */
  tempDir?: string;
}

export interface CommitStats {
  written: number;
  unchanged: number;
  pruned: number;
  dirsRemoved: number;
  sweptTemps: number;
  /** Files (and symlinks) this commit did not produce and was not allowed to prune, sorted. */
  left: string[];
}

/**
 * Commits a set of files into outDir so that a concurrent reader sees, for
 * every path, the old file or the new file and never a partial one:
 *   1. sweep temp files a killed run leaked,
 *   2. write changed files by temp sibling + rename (byte-identical files are
 *      left alone, mtime kept),
 *   3. prune files this commit did not produce (all, or only those `prune.only`
 *      names), then the directories that pruning left empty.
 * outDir itself is never removed, nor any directory that holds new output or
 * anything that was not pruned.
 * The caller must hold outDir's lock.
 */
export async function commitTree(outDir: string, files: readonly CommitFile[], options: CommitOptions = {}): Promise<CommitStats> {
  const prune = options.prune ?? true;
  const concurrency = options.concurrency ?? 32;
  const planned = planFiles(files);

  await fsp.mkdir(outDir, { recursive: true });
  const root = await fsp.realpath(outDir);
  const stats: CommitStats = { written: 0, unchanged: 0, pruned: 0, dirsRemoved: 0, sweptTemps: 0, left: [] };

  try {
    // One walk of outDir answers what the per-file lstat, realpath, mkdir, the
    // sweep and the prune would each ask again: unchanged files cost one open+read.
    const listing = await listTree(root);
    if (options.sweep ?? true) {
      for (const [rel, kind] of listing) {
        if (kind !== 'dir' && isTempFileName(path.posix.basename(rel))) {
          await fsp.rm(path.join(root, rel), { force: true });
          listing.delete(rel);
          stats.sweptTemps++;
        }
      }
    }

    const preparedParents = new Map<string, Promise<void>>();
    const prepareParent = (rel: string): Promise<void> => {
      const parent = path.posix.dirname(rel);
      // A directory the walk entered is real all the way down from outDir: no symlink, nothing to create.
      if (parent === '.' || listing.get(parent) === 'dir') return Promise.resolve();
      let prepared = preparedParents.get(parent);
      if (!prepared) {
        prepared = (async () => {
          await assertNoSymlinkEscape(root, path.join(root, rel));
          await ensureParentDir(root, rel);
        })();
        preparedParents.set(parent, prepared);
      }
      return prepared;
    };

    await mapLimit(planned.files, concurrency, async (file) => {
      const target = path.join(root, ...file.path.split('/'));
      await prepareParent(file.path);
      if (await writeIfChanged(target, listing.get(file.path), file, options.tempDir)) stats.written++;
      else stats.unchanged++;
    });

    if (prune !== false) {
      const mayPrune = (rel: string) => prune === true || prune.only.has(rel);
      const emptied = new Set<string>();
      const keptDirs = new Set<string>();
      for (const [rel, kind] of listing) {
        // An entry whose kind this commit changed (file ↔ dir) was already replaced above.
        if (planned.paths.has(rel) || planned.dirs.has(rel)) continue;
        if (kind === 'dir') {
          if (prune === true) emptied.add(rel);
          continue;
        }
        if (!mayPrune(rel)) {
          stats.left.push(rel);
          for (let dir = path.posix.dirname(rel); dir !== '.'; dir = path.posix.dirname(dir)) keptDirs.add(dir);
          continue;
        }
        try {
          await fsp.rm(path.join(root, rel), { force: true });
        } catch (error) {
          // Its directory was replaced by a file of this commit: it is gone already.
          if (errnoCode(error) !== 'ENOTDIR') throw error;
        }
        stats.pruned++;
        for (let dir = path.posix.dirname(rel); dir !== '.'; dir = path.posix.dirname(dir)) emptied.add(dir);
      }
      // Only directories that pruning emptied (or any stale one under prune: true), deepest first.
      const staleDirs = [...emptied].filter((dir) => listing.get(dir) === 'dir' && !planned.dirs.has(dir) && !planned.paths.has(dir) && !keptDirs.has(dir));
      staleDirs.sort((a, b) => b.split('/').length - a.split('/').length);
      for (const rel of staleDirs) if (await removeIfEmpty(path.join(root, rel))) stats.dirsRemoved++;
      stats.left.sort();
    }
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && !(error instanceof LockstepError)) throw outDirChangedError(outDir, error);
    throw error;
  }
  return stats;
}

type EntryKind = 'file' | 'dir' | 'other';

/** Every entry under `root` by posix relative path; symlinks are 'other' and never followed. */
async function listTree(root: string): Promise<Map<string, EntryKind>> {
  const listing = new Map<string, EntryKind>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const entry of await fsp.readdir(abs, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        listing.set(childRel, 'dir');
        await walk(path.join(abs, entry.name), childRel);
      } else {
        listing.set(childRel, entry.isFile() ? 'file' : 'other');
      }
    }
  };
  await walk(root, '');
  return listing;
}

interface PlannedFiles {
  files: CommitFile[];
  paths: Set<string>;
  dirs: Set<string>;
}

function planFiles(files: readonly CommitFile[]): PlannedFiles {
  const byPath = new Map<string, CommitFile>();
  for (const file of files) {
    const rel = normalizeEmittedPath(file.path);
    byPath.set(rel, { path: rel, source: file.source, mode: file.mode === undefined ? undefined : file.mode & 0o777 });
  }
  const dirs = new Set<string>();
  for (const rel of byPath.keys()) {
    const segments = rel.split('/');
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/'));
  }
  for (const dir of dirs) {
    if (byPath.has(dir)) throw fileAndDirectoryError(dir);
  }
  return { files: [...byPath.values()], paths: new Set(byPath.keys()), dirs };
}

/** Creates the parent directories of `rel`, removing stale files that stand where a directory must go. */
async function ensureParentDir(root: string, rel: string): Promise<void> {
  const segments = rel.split('/').slice(0, -1);
  if (segments.length === 0) return;
  const parent = path.join(root, ...segments);
  try {
    await fsp.mkdir(parent, { recursive: true });
    return;
  } catch (error) {
    if (errnoCode(error) !== 'ENOTDIR' && errnoCode(error) !== 'EEXIST') throw error;
  }
  let dir = root;
  for (const segment of segments) {
    dir = path.join(dir, segment);
    const stat = await lstatOrUndefined(dir);
    if (stat && !stat.isDirectory()) await fsp.rm(dir, { force: true });
    try {
      await fsp.mkdir(dir);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
}

/**
 * Returns true if it wrote (or changed the mode), false if the bytes and mode
 * on disk were already the new ones. `existing` is what the walk saw.
 */
async function writeIfChanged(target: string, existing: EntryKind | undefined, file: CommitFile, tempDir?: string): Promise<boolean> {
  const { source } = file;
  if (existing === 'dir') {
    await fsp.rm(target, { recursive: true, force: true });
  } else if (existing === 'file') {
    const same = await sameBytes(target, source);
    if (same) {
      const wanted = file.mode ?? ('data' in source ? undefined : same.sourceMode);
      if (wanted === undefined || wanted === same.targetMode) return false;
      // Same bytes, other permission bits: chmod changes no byte a reader can see.
      await fsp.chmod(target, wanted);
      return true;
    }
  }
  if ('data' in source) {
    await writeFileAtomicFast(target, source.data, { tempDir, mode: file.mode });
  } else if ('stagedPath' in source) {
    if (file.mode !== undefined) await fsp.chmod(source.stagedPath, file.mode);
    await fsp.rename(source.stagedPath, target);
  } else {
    // copyFile gives the copy the source's permission bits.
    const temp = tempDir ? path.join(tempDir, path.basename(tempSiblingPath(target))) : tempSiblingPath(target);
    try {
      await fsp.copyFile(source.copyFrom, temp);
      if (file.mode !== undefined) await fsp.chmod(temp, file.mode);
      await fsp.rename(temp, target);
    } catch (error) {
      await fsp.rm(temp, { force: true });
      throw error;
    }
  }
  return true;
}

const COMPARE_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/** The permission bits of both sides when the bytes are the same; undefined when they differ. */
interface SameBytes {
  targetMode: number;
  /** Of a staged or copied source; undefined for bytes from memory. */
  sourceMode?: number;
}

/**
 * The modes when `target` is a regular file holding exactly `data`, else
 * undefined: open, fstat, one read of size + 1 bytes, close, synchronously
 * (a few µs each; three threadpool round trips per file cost more than the read).
 */
function sameBytesInMemory(target: string, data: Uint8Array): SameBytes | undefined {
  let fd: number;
  try {
    fd = openSync(target, COMPARE_FLAGS);
  } catch (error) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(errnoCode(error) ?? '')) return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.allocUnsafe(data.byteLength + 1);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    if (read !== data.byteLength || !buffer.subarray(0, read).equals(data)) return undefined;
    return { targetMode: fstatSync(fd).mode & 0o777 };
  } catch (error) {
    if (errnoCode(error) === 'EISDIR' || errnoCode(error) === 'EAGAIN') return undefined;
    throw error;
  } finally {
    closeSync(fd);
  }
}

async function sameBytes(target: string, source: FileSource): Promise<SameBytes | undefined> {
  if ('data' in source) {
    return sameBytesInMemory(target, typeof source.data === 'string' ? Buffer.from(source.data) : source.data);
  }
  const from = 'stagedPath' in source ? source.stagedPath : source.copyFrom;
  const [existing, staged] = await Promise.all([fsp.stat(target), fsp.stat(from)]);
  if (staged.size !== existing.size) return undefined;
  const [a, b] = await Promise.all([fsp.readFile(target), fsp.readFile(from)]);
  return a.equals(b) ? { targetMode: existing.mode & 0o777, sourceMode: staged.mode & 0o777 } : undefined;
}

async function removeIfEmpty(dir: string): Promise<boolean> {
  try {
    await fsp.rmdir(dir);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOTEMPTY' || errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}
