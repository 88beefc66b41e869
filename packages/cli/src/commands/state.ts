import { lstatSync, statSync } from 'fs';
import * as path from 'path';
import { clearJournal, errnoCode, journalLocation, readJournal } from '@lockstep/core';
import { cacheDirError, journalAccessError, noNxWorkspaceError, targetNameError } from '../errors';

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

export function journalDir(options: StateOptions): string {
  if (!/^[\w.:-]+$/.test(options.target)) throw targetNameError(options.target);
  const cacheDir = options.cacheDir !== undefined ? checkCacheDir(path.resolve(options.cwd, options.cacheDir)) : nxCacheDir(options.cwd);
  return journalLocation(cacheDir, options.target);
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
    throw cacheDirError(dir, { error });
  }
  if (link.isSymbolicLink()) {
    try {
      statSync(dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw cacheDirError(dir, 'dangling');
      throw cacheDirError(dir, { error });
    }
  }
  if (!statSync(dir).isDirectory()) throw cacheDirError(dir, 'not-a-directory');
  return dir;
}

/** File-system errors under the cache dir (a file where a directory belongs, no permission): EBADOPTIONS naming the path. */
async function onJournal<T>(dir: string, options: StateOptions, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    const code = errnoCode(error);
    if (!code || !FS_INPUT_ERRORS.has(code)) throw error;
    const at = typeof (error as { path?: unknown }).path === 'string' ? (error as { path: string }).path : dir;
    throw journalAccessError(options.target, dir, at, code, error);
  }
}

const FS_INPUT_ERRORS = new Set(['ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG', 'EROFS']);

/** The cache directory Nx computes for the workspace around `cwd` (NX_CACHE_DIRECTORY, nx.json, or Nx's default). */
function nxCacheDir(cwd: string): string {
  let devkit: string;
  try {
    devkit = require.resolve('@nx/devkit', { paths: [cwd] });
  } catch {
    throw noNxWorkspaceError(cwd);
  }
  const previous = process.cwd();
  try {
    process.chdir(cwd);
    return (require(devkit) as { cacheDir: string }).cacheDir;
  } finally {
    process.chdir(previous);
  }
}
