import * as path from 'path';
import { ErrorCodes, LockstepError, clearJournal, readJournal } from '@lockstep/core';

export interface StateOptions {
  target: string;
  /** Nx's cache directory; default: the one Nx uses for the workspace in `cwd`. */
  cacheDir?: string;
  cwd: string;
}

/** `lockstep state show`: the publish journal of a target, as the next run will find it. */
export async function stateShow(options: StateOptions): Promise<{ data: unknown; text: string }> {
  const dir = journalDir(options);
  const snapshot = await readJournal(dir);
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
  const removed = await clearJournal(dir);
  return { data: { dir, removed }, text: removed ? `Cleared the publish journal of '${options.target}' (${dir}).` : `Nothing to clear in ${dir}.` };
}

function journalDir(options: StateOptions): string {
  if (!/^[\w.:-]+$/.test(options.target)) {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `'${options.target}' is not a target name.`, { hint: 'Use the name of the publish target, e.g. --target publish.' });
  }
  return path.join(options.cacheDir ? path.resolve(options.cwd, options.cacheDir) : nxCacheDir(options.cwd), 'lockstep', 'publish', options.target);
}

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
