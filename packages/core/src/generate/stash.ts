import { promises as fsp } from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { CommitFile, CommitStats, commitTree } from '../atomic/commit-tree';
import { normalizeEmittedPath } from '../atomic/confine';
import { errnoCode } from '../errors';
import { LockHandle, WaitInfo, acquireLock } from '../lock/lock';
import { describeOwner } from '../lock/owner';
import { systemProcessProbe } from '../lock/process-probe';
import { outDirRepointedError, stashMismatchError } from './errors';
import { OutDirRules, resolveOutDir } from './out-dir';
import { GenerateResult, RunGenerateOptions, commitGeneration, produceFiles, throwIfLost } from './run-generate';
import { createStagingDir, sweepStagingDirs } from './staging';

/**
 * Cached generate without a gap. Nx restores a cached target by deleting its
 * outputs and copying the cached files in, and stores them after the executor
 * returned, outside any lock of ours. So what Nx caches is a stash beside
 * outDir that no reader uses, and outDir is brought up to date from it by
 * lockstep. One Nx invocation runs three tasks per outDir:
 *
 *   hold  (not cached)  takes outDir's lock for the whole invocation,
 *   stash (cached)      generates into the stash, or Nx restores the stash,
 *                       and Nx stores it, all while the invocation holds the lock,
 *   sync  (not cached)  commits the stash into outDir (atomic per file,
 *                       unchanged files untouched, prune after) and releases.
 *
 * The lock is the run's (owner: the Nx invocation's root process, every task
 * process of the run joins it), so no other invocation generates into, or
 * restores, the stash between this run's generation and Nx storing it: what
 * Nx stores under a hash is what the run of that hash produced. An invocation
 * that dies releases it with its root process (pid probe).
 */

/** The stash's own record of its generation; Nx caches it with the files. */
export const STASH_INDEX = '.lockstep-stash.json';

/** Without a heartbeat (between the tasks of a run, while Nx stores or restores) a run's hold is stale after this long. */
export const GENERATE_STALE_MS = 10 * 60_000;

export interface StashIndex {
  schema_version: 1;
  /** The Nx task hash of the stash task that generated it (NX_TASK_HASH), when known. */
  taskHash?: string;
  files: Array<{ path: string; size: number; mode: number }>;
}

/** The default stash of an outDir: a hidden sibling, `.<name>.lockstep-stash` (workspace-relative in, workspace-relative out). */
export function defaultStashDir(outDir: string): string {
  const normalized = outDir.replace(/\\/g, '/').replace(/\/+$/, '');
  const parent = path.posix.dirname(normalized);
  const name = `.${path.posix.basename(normalized)}.lockstep-stash`;
  return parent === '.' ? name : `${parent}/${name}`;
}

export interface RunHoldOptions {
  /** Absolute outDir. */
  outDir: string;
  workspaceRoot: string;
  projectName?: string;
  /** The Nx invocation's root process (NX_INVOCATION_ROOT_PID): every task of the run shares the hold. */
  runPid: number;
  lockTimeoutMs?: number;
  lockDir?: string;
  staleMs?: number;
  log?: (line: string) => void;
}

/** Takes (or joins) the run's hold on outDir. Release it at the end of the sync, or detach to leave it to the run's next task. */
export async function holdOutDir(realOutDir: string, options: RunHoldOptions): Promise<LockHandle> {
  const log = options.log ?? (() => undefined);
  const shown = path.relative(options.workspaceRoot, realOutDir) || realOutDir;
  return acquireLock(`path:${realOutDir}`, {
    timeoutMs: options.lockTimeoutMs,
    lockDir: options.lockDir,
    staleMs: options.staleMs ?? GENERATE_STALE_MS,
    share: true,
    pid: options.runPid,
    probe: systemProcessProbe,
    command: `generate ${options.projectName ?? ''} ${shown} (nx run ${options.runPid})`.replace(/\s+/g, ' ').trim(),
    onWait: (info: WaitInfo) => log(`Waiting for ${shown}${info.holder ? `, held by ${describeOwner(info.holder)}` : ''} (${info.ahead} ahead)`),
  });
}

function rulesOf(options: Pick<RunGenerateOptions, 'workspaceRoot' | 'projectRoots' | 'reservedDirs' | 'allowOutsideWorkspace'>): OutDirRules {
  return { workspaceRoot: options.workspaceRoot, projectRoots: options.projectRoots, reserved: options.reservedDirs, allowOutsideWorkspace: options.allowOutsideWorkspace };
}

/** Resolves outDir and the stash (both checked on real paths, like any outDir) and creates them. */
async function resolveBoth(options: RunGenerateOptions & { stashDir: string }): Promise<{ outDir: string; stashDir: string; rules: OutDirRules }> {
  const rules = rulesOf(options);
  const outDir = await resolveOutDir(options.outDir, rules);
  const stashDir = await resolveOutDir(options.stashDir, rules);
  await fsp.mkdir(outDir, { recursive: true });
  await fsp.mkdir(stashDir, { recursive: true });
  return { outDir, stashDir, rules };
}

export type HoldStepOptions = RunGenerateOptions & { stashDir: string; runPid: number };

/** The hold task: takes outDir's lock for the run and leaves it held (detached) for the stash and sync tasks. */
export async function runHoldStep(options: HoldStepOptions): Promise<{ outDir: string; waitedMs: number; joined: boolean }> {
  const { outDir } = await resolveBoth(options);
  if (options.noLock) return { outDir, waitedMs: 0, joined: false };
  const hold = await holdOutDir(outDir, { ...options, outDir });
  hold.detach();
  return { outDir, waitedMs: hold.waitedMs, joined: hold.joined };
}

export interface StashResult {
  stashDir: string;
  stats: CommitStats;
  files: number;
  durationMs: number;
}

/**
 * The stash task: runs the generator (or command) and commits its output into
 * the stash, with an index naming the task hash, under the run's hold (joined,
 * or taken if the hold task did not run). The hold stays for the sync task.
 */
export async function runStashStep(options: HoldStepOptions & { taskHash?: string }): Promise<StashResult> {
  const started = performance.now();
  const { stashDir, outDir, rules } = await resolveBoth(options);
  const hold = options.noLock ? undefined : await holdOutDir(outDir, { ...options, outDir });
  let staging: string | undefined;
  try {
    if ((await resolveOutDir(options.stashDir, rules)) !== stashDir) throw outDirRepointedError(options.stashDir, stashDir);
    if (hold) await sweepStagingDirs(stashDir);
    staging = await createStagingDir(stashDir);
    const files = await produceFiles(options, outDir, staging, hold?.signal);
    throwIfLost(hold);
    const stats = await commitTree(stashDir, files, { prune: true, sweep: hold !== undefined, tempDir: staging });
    // The index last, from what is on disk now: an entry Nx stores describes itself.
    const index: StashIndex = { schema_version: 1, taskHash: options.taskHash, files: await describeFiles(stashDir, files.map((f) => f.path)) };
    await commitTree(stashDir, [{ path: STASH_INDEX, source: { data: `${JSON.stringify(index)}\n` } }], { prune: false, sweep: false, tempDir: staging });
    throwIfLost(hold);
    return { stashDir, stats, files: files.length, durationMs: performance.now() - started };
  } finally {
    if (staging) await fsp.rm(staging, { recursive: true, force: true });
    hold?.detach();
  }
}

export interface SyncResult extends GenerateResult {
  stashDir: string;
}

/**
 * The sync task: under the run's hold, checks that the stash is one whole
 * generation (of `expectedHash`, when known) and commits it into outDir, each
 * changed file copied to a temp file and renamed into place, unchanged files
 * untouched, then prunes; records what it committed, and releases the hold.
 */
export async function runSyncStep(options: HoldStepOptions & { expectedHash?: string }): Promise<SyncResult> {
  const started = performance.now();
  const { stashDir, outDir, rules } = await resolveBoth(options);
  const hold = options.noLock ? undefined : await holdOutDir(outDir, { ...options, outDir });
  let staging: string | undefined;
  try {
    if ((await resolveOutDir(options.outDir, rules)) !== outDir) throw outDirRepointedError(options.outDir, outDir);
    const files = await readStash(stashDir, options.expectedHash);
    if (hold) await sweepStagingDirs(outDir);
    staging = await createStagingDir(outDir);
    const committed = await commitGeneration(outDir, files, { ...options, sweep: hold !== undefined, tempDir: staging, lock: hold });
    return { outDir, stashDir, ...committed, waitedMs: hold?.waitedMs ?? 0, durationMs: performance.now() - started, files: files.length };
  } finally {
    if (staging) await fsp.rm(staging, { recursive: true, force: true });
    await hold?.release();
  }
}

/** The stash's files as commit entries (copied, never consumed), after checking them against its index. */
export async function readStash(stashDir: string, expectedHash?: string): Promise<CommitFile[]> {
  let index: StashIndex;
  try {
    index = JSON.parse(await fsp.readFile(path.join(stashDir, STASH_INDEX), 'utf8')) as StashIndex;
  } catch (error) {
    throw stashMismatchError(stashDir, errnoCode(error) === 'ENOENT' ? `it has no ${STASH_INDEX} (it was never written by a stash task, or was emptied)` : `its ${STASH_INDEX} is unreadable`);
  }
  if (index?.schema_version !== 1 || !Array.isArray(index.files)) throw stashMismatchError(stashDir, `its ${STASH_INDEX} is not a stash index`);
  if (expectedHash && index.taskHash && index.taskHash !== expectedHash) {
    throw stashMismatchError(stashDir, `it holds the generation of task hash ${index.taskHash}, not ${expectedHash}`);
  }
  const onDisk = await listFiles(stashDir);
  onDisk.delete(STASH_INDEX);
  const problems: string[] = [];
  for (const entry of index.files) {
    const size = onDisk.get(entry.path);
    if (size === undefined) problems.push(`${entry.path} is missing`);
    else if (size !== entry.size) problems.push(`${entry.path} has ${size} bytes, not ${entry.size}`);
    onDisk.delete(entry.path);
  }
  for (const extra of onDisk.keys()) problems.push(`${extra} is not in the index`);
  if (problems.length > 0) {
    throw stashMismatchError(stashDir, `${problems.slice(0, 5).join(', ')}${problems.length > 5 ? ` and ${problems.length - 5} more` : ''}`);
  }
  // The index's mode, not the restored file's: a cache restore that dropped an exec bit does not drop it in outDir.
  return index.files.map((entry) => ({ path: entry.path, source: { copyFrom: path.join(stashDir, ...entry.path.split('/')) }, mode: entry.mode }));
}

async function describeFiles(root: string, rels: readonly string[]): Promise<StashIndex['files']> {
  const unique = [...new Set(rels.map((rel) => normalizeEmittedPath(rel)))].sort();
  return Promise.all(
    unique.map(async (rel) => {
      const stat = await fsp.stat(path.join(root, ...rel.split('/')));
      return { path: rel, size: stat.size, mode: stat.mode & 0o777 };
    }),
  );
}

/** Regular files under `root` (posix relative path → size); anything else fails the check. */
async function listFiles(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const entry of await fsp.readdir(abs, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(abs, entry.name);
      if (entry.isDirectory()) await walk(full, childRel);
      else if (entry.isFile()) out.set(childRel, (await fsp.stat(full)).size);
      else out.set(childRel, -1);
    }
  };
  await walk(root, '');
  return out;
}
