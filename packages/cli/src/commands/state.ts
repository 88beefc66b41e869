import { lstatSync, statSync } from 'fs';
import * as path from 'path';
import { ErrorCodes, LockstepError, clearJournal, errnoCode, readJournal, safeText } from '@lockstep/core';

export interface StateOptions {
  target: string;
  /** Nx's cache directory; default: the one Nx uses for the workspace in `cwd`. */
  cacheDir?: string;
  cwd: string;
}

/** `lockstep state show`: the publish journal of a target, as the next run will find it. */
export async function stateShow(options: StateOptions): Promise<{ data: unknown; text: string }> {
  const dir = journalDir(options);
  const snapshot = await onJournal(dir, options, () => readJournal(dir));
  if (!snapshot) return { data: { dir, run: null, packages: [] }, text: `No publish run recorded for target '${options.target}' (${dir}).` };
  const { run, packages, missing } = snapshot;
  const lines = [
    `Run ${run.runId} of commit ${run.sha.slice(0, 12)}: ${run.status} (started ${run.startedAt}, updated ${run.updatedAt})`,
    `Registry ${run.registry}, journal ${dir}`,
    ...packages.map((p) => `  ${p.status.padEnd(10)} ${p.name}@${p.version}${p.attempts ? ` (${p.attempts} attempt${p.attempts === 1 ? '' : 's'})` : ''}${p.error ? `  [${p.error.code}] ${p.error.message}` : ''}`),
    ...missing.map((name) => `  (no record) ${name}`),
  ];
  return { data: snapshot, text: lines.join('\n') };
}

/** `lockstep state clear`: forget the journal, so the next run starts fresh. */
export async function stateClear(options: StateOptions): Promise<{ data: unknown; text: string }> {
  const dir = journalDir(options);
  const removed = await onJournal(dir, options, () => clearJournal(dir));
  return { data: { dir, removed }, text: removed ? `Cleared the publish journal of '${options.target}' (${dir}).` : `Nothing to clear in ${dir}.` };
}

const CACHE_DIR_HINT = "Pass --cache-dir the directory Nx keeps its cache in (e.g. .nx/cache), or leave it out to use the workspace's.";

function journalDir(options: StateOptions): string {
  if (!/^[\w.:-]+$/.test(options.target)) {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `'${safeText(options.target, 60)}' is not a target name.`, { hint: 'Use the name of the publish target, e.g. --target publish.' });
  }
  const cacheDir = options.cacheDir !== undefined ? checkCacheDir(path.resolve(options.cwd, options.cacheDir)) : nxCacheDir(options.cwd);
  return path.join(cacheDir, 'lockstep', 'publish', options.target);
}

/**
 * --cache-dir must be a directory, or not exist yet (then there is no journal
 * to show or clear). A file or a dangling symlink is EBADOPTIONS, not a
 * crash deeper down.
 */
function checkCacheDir(dir: string): string {
  let link;
  try {
    link = lstatSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return dir;
    throw cacheDirError(dir, error);
  }
  if (link.isSymbolicLink()) {
    try {
      statSync(dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        throw new LockstepError(ErrorCodes.EBADOPTIONS, `--cache-dir ${safeText(dir, 300)} is a symlink to nothing (dangling).`, { hint: CACHE_DIR_HINT });
      }
      throw cacheDirError(dir, error);
    }
  }
  if (!statSync(dir).isDirectory()) {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `--cache-dir ${safeText(dir, 300)} is not a directory.`, { hint: CACHE_DIR_HINT });
  }
  return dir;
}

function cacheDirError(dir: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `--cache-dir ${safeText(dir, 300)} cannot be used (${errnoCode(error) ?? String(error)}).`, { hint: CACHE_DIR_HINT, cause: error });
}

/** File-system errors under the cache dir (a file where a directory belongs, no permission): EBADOPTIONS naming the path. */
async function onJournal<T>(dir: string, options: StateOptions, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    const code = errnoCode(error);
    if (!code || !FS_INPUT_ERRORS.has(code)) throw error;
    const at = typeof (error as { path?: unknown }).path === 'string' ? (error as { path: string }).path : dir;
    throw new LockstepError(
      ErrorCodes.EBADOPTIONS,
      `The publish journal of '${options.target}' in ${safeText(dir, 300)} cannot be ${FS_WHY[code] ?? 'used'}: ${safeText(at, 300)} (${code}).`,
      {
        hint: code === 'ENOTDIR' || code === 'EISDIR' ? `Something other than a directory is in the way; check the path, or ${CACHE_DIR_HINT[0].toLowerCase()}${CACHE_DIR_HINT.slice(1)}` : `Check the permissions of ${safeText(dir, 300)}, or ${CACHE_DIR_HINT[0].toLowerCase()}${CACHE_DIR_HINT.slice(1)}`,
        cause: error,
      },
    );
  }
}

const FS_INPUT_ERRORS = new Set(['ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG', 'EROFS']);
const FS_WHY: Record<string, string> = { ENOTDIR: 'read (a file is where a directory should be)', EISDIR: 'read (a directory is where a file should be)', EACCES: 'read or changed (permission denied)', EPERM: 'changed (not permitted)', EROFS: 'changed (read-only file system)' };

/** The cache directory Nx computes for the workspace around `cwd` (NX_CACHE_DIRECTORY, nx.json, or Nx's default). */
function nxCacheDir(cwd: string): string {
  let devkit: string;
  try {
    devkit = require.resolve('@nx/devkit', { paths: [cwd] });
  } catch {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `No Nx workspace with @nx/devkit found from ${cwd}.`, {
      hint: 'Run it inside the workspace, or pass --cache-dir <Nx cache directory>.',
    });
  }
  const previous = process.cwd();
  try {
    process.chdir(cwd);
    return (require(devkit) as { cacheDir: string }).cacheDir;
  } finally {
    process.chdir(previous);
  }
}
