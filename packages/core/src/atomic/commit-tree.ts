import { promises as fsp } from 'fs';
import * as path from 'path';
import { ErrorCodes, LockstepError, errnoCode } from '../errors';
import { mapLimit } from '../util/map-limit';
import { assertNoSymlinkEscape, normalizeEmittedPath } from './confine';
import { sweepTempFiles } from './sweep';
import { writeFileAtomicFast } from './write-fast';

/** Where a file's new bytes come from: memory, or a staged file on outDir's filesystem. */
export type FileSource = { data: string | Uint8Array } | { stagedPath: string };

export interface CommitFile {
  /** Path relative to outDir, as emitted; normalised and confined here. */
  path: string;
  source: FileSource;
}

export interface CommitOptions {
  /** Remove files (then empty directories) of outDir that this commit did not produce. Default true. */
  prune?: boolean;
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
}

/**
 * Commits a set of files into outDir so that a concurrent reader sees, for
 * every path, the old file or the new file and never a partial one:
 *   1. sweep temp files a killed run leaked,
 *   2. write changed files by temp sibling + rename (byte-identical files are
 *      left alone, mtime kept),
 *   3. prune files this commit did not produce, then empty directories.
 * outDir itself is never removed, nor any directory that holds new output.
 * The caller must hold outDir's lock.
 */
export async function commitTree(outDir: string, files: readonly CommitFile[], options: CommitOptions = {}): Promise<CommitStats> {
  const prune = options.prune ?? true;
  const concurrency = options.concurrency ?? 32;
  const planned = planFiles(files);

  await fsp.mkdir(outDir, { recursive: true });
  const root = await fsp.realpath(outDir);
  const stats: CommitStats = { written: 0, unchanged: 0, pruned: 0, dirsRemoved: 0, sweptTemps: 0 };
  if (options.sweep ?? true) stats.sweptTemps = await sweepTempFiles(root);

  try {
    await mapLimit(planned.files, concurrency, async (file) => {
      const target = path.join(root, ...file.path.split('/'));
      await assertNoSymlinkEscape(root, target);
      await ensureParentDir(root, file.path);
      if (await writeIfChanged(target, file.source, options.tempDir)) stats.written++;
      else stats.unchanged++;
    });

    if (prune) {
      const removed = await pruneDir(root, '', planned.paths, planned.dirs);
      stats.pruned = removed.files;
      stats.dirsRemoved = removed.dirs;
    }
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && !(error instanceof LockstepError)) throw outDirChanged(outDir, error);
    throw error;
  }
  return stats;
}

function outDirChanged(outDir: string, cause: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EOUTDIRCHANGED, `Another process removed or replaced files in ${outDir} while lockstep was writing it (${(cause as Error).message}).`, {
    hint: 'Something outside lockstep writes to outDir: for example Nx restoring this target from its cache (without the Nx daemon it deletes and re-copies outputs). Run again; see the README on Nx cache restores.',
    cause,
  });
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
    byPath.set(rel, { path: rel, source: file.source });
  }
  const dirs = new Set<string>();
  for (const rel of byPath.keys()) {
    const segments = rel.split('/');
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/'));
  }
  for (const dir of dirs) {
    if (byPath.has(dir)) {
      throw new LockstepError(ErrorCodes.EGENERATOR, `The generator emitted '${dir}' both as a file and as a directory.`, {
        hint: `Rename either '${dir}' or the files under '${dir}/'.`,
      });
    }
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

/** Returns true if it wrote, false if the bytes on disk were already the new ones. */
async function writeIfChanged(target: string, source: FileSource, tempDir?: string): Promise<boolean> {
  const existing = await lstatOrUndefined(target);
  if (existing?.isDirectory()) {
    await fsp.rm(target, { recursive: true, force: true });
  } else if (existing?.isFile() && (await sameBytes(target, existing.size, source))) {
    return false;
  }
  if ('data' in source) {
    await writeFileAtomicFast(target, source.data, { tempDir });
  } else {
    await fsp.rename(source.stagedPath, target);
  }
  return true;
}

async function sameBytes(target: string, size: number, source: FileSource): Promise<boolean> {
  if ('data' in source) {
    const next = typeof source.data === 'string' ? Buffer.from(source.data) : source.data;
    if (next.byteLength !== size) return false;
    return Buffer.compare(await fsp.readFile(target), next) === 0;
  }
  const staged = await fsp.stat(source.stagedPath);
  if (staged.size !== size) return false;
  const [a, b] = await Promise.all([fsp.readFile(target), fsp.readFile(source.stagedPath)]);
  return a.equals(b);
}

async function pruneDir(absDir: string, relDir: string, keepFiles: Set<string>, keepDirs: Set<string>): Promise<{ files: number; dirs: number }> {
  const counts = { files: 0, dirs: 0 };
  const entries = await fsp.readdir(absDir, { withFileTypes: true });
  for (const entry of entries) {
    const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
    const abs = path.join(absDir, entry.name);
    if (entry.isDirectory()) {
      const inner = await pruneDir(abs, rel, keepFiles, keepDirs);
      counts.files += inner.files;
      counts.dirs += inner.dirs;
      if (!keepDirs.has(rel) && (await removeIfEmpty(abs))) counts.dirs++;
    } else if (!keepFiles.has(rel)) {
      await fsp.rm(abs, { force: true });
      counts.files++;
    }
  }
  return counts;
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

async function lstatOrUndefined(target: string) {
  try {
    return await fsp.lstat(target);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}
