import { spawn } from 'child_process';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { CommitFile, CommitStats, PruneMode, commitTree } from '../atomic/commit-tree';
import { normalizeEmittedPath } from '../atomic/confine';
import { isLockstepError } from '../errors';
import { LockHandle, WaitInfo, acquireLock } from '../lock/lock';
import { resolveLockDir } from '../lock/lock-dir';
import { describeOwner } from '../lock/owner';
import {
  commandFailedError,
  commandStartError,
  generatorContentError,
  generatorExitedError,
  generatorFailedError,
  generatorModeError,
  generatorResultError,
  outDirRepointedError,
} from './errors';
import { OutDirManifest, manifestPath, readManifest, writeManifest } from './manifest';
import { OutDirRules, resolveOutDir } from './out-dir';
import { createStagingDir, listStagedFiles, sweepStagingDirs } from './staging';

export type GeneratedContent = string | Uint8Array;

/** What a generator module's `generate(ctx)` receives. */
export interface GenerateContext {
  /** Absolute outDir, for reference only: write by `emit`, never into it directly. */
  outDir: string;
  workspaceRoot: string;
  projectRoot?: string;
  projectName?: string;
  /** The target's options as given. */
  options: Record<string, unknown>;
  /** Adds (or replaces) a file of the output, by path relative to outDir; `mode` (e.g. 0o755) sets its permission bits. */
  emit(relativePath: string, content: GeneratedContent, options?: { mode?: number }): void;
}

export type GeneratorResult = void | Record<string, GeneratedContent> | Iterable<readonly [string, GeneratedContent]>;
export type GeneratorFunction = (ctx: GenerateContext) => GeneratorResult | Promise<GeneratorResult>;

export type Producer =
  | { kind: 'function'; generate: GeneratorFunction; name: string }
  | { kind: 'command'; command: string };

export interface RunGenerateOptions {
  /** Absolute path. */
  outDir: string;
  producer: Producer;
  workspaceRoot: string;
  projectRoot?: string;
  projectName?: string;
  targetOptions?: Record<string, unknown>;
  /**
   * `true` (default): remove files an earlier generation wrote and this one did
   * not; files lockstep never wrote are left (and reported once). `'all'`:
   * remove everything this run did not produce. `false`: remove nothing.
   */
  prune?: boolean | 'all';
  /** Roots of the workspace's projects: outDir may be none of them nor contain one. */
  projectRoots?: readonly string[];
  /** Directories outDir must stay out of (Nx's cache and workspace data). */
  reservedDirs?: readonly string[];
  /** outDir may lie outside the workspace. */
  allowOutsideWorkspace?: boolean;
  /** Where the record of what each outDir holds of ours lives. Default: `<lock dir>/state`. */
  stateDir?: string;
  lockTimeoutMs?: number;
  /** Skip the lock (LOCKSTEP_NO_LOCK=1): no sweeping of leftovers either, since it is unsafe without it. */
  noLock?: boolean;
  lockDir?: string;
  staleMs?: number;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface GenerateResult {
  outDir: string;
  stats: CommitStats;
  /** Files of outDir lockstep did not write, left in place and not reported before (see `stats.left` for all). */
  newlyLeft: string[];
  /** No record of an earlier generation here: nothing but this run's own files could be pruned. */
  firstGeneration: boolean;
  waitedMs: number;
  durationMs: number;
  files: number;
}

/**
 * Runs a generator (or a command) and commits its output into outDir under
 * outDir's single-flight lock. The output is produced into memory or a
 * staging dir first, so a failing generator leaves outDir untouched.
 */
export async function runGenerate(options: RunGenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const rules: OutDirRules = {
    workspaceRoot: options.workspaceRoot,
    projectRoots: options.projectRoots,
    reserved: options.reservedDirs,
    allowOutsideWorkspace: options.allowOutsideWorkspace,
  };
  const outDir = await resolveOutDir(options.outDir, rules);
  await fsp.mkdir(outDir, { recursive: true });

  let lock: LockHandle | undefined;
  if (!options.noLock) {
    lock = await acquireLock(`path:${outDir}`, {
      timeoutMs: options.lockTimeoutMs,
      lockDir: options.lockDir,
      staleMs: options.staleMs,
      command: `generate ${options.projectName ?? ''} ${path.relative(options.workspaceRoot, outDir)}`.replace(/\s+/g, ' ').trim(),
      onWait: (info: WaitInfo) =>
        log(`Waiting for ${path.relative(options.workspaceRoot, outDir) || outDir}${info.holder ? `, held by ${describeOwner(info.holder)}` : ''} (${info.ahead} ahead)`),
    });
  }
  let staging: string | undefined;
  try {
    // Links along outDir may have changed while this run waited: check again, under the lock.
    if ((await resolveOutDir(options.outDir, rules)) !== outDir) {
      throw outDirRepointedError(options.outDir, outDir);
    }
    if (lock) await sweepStagingDirs(outDir);
    staging = await createStagingDir(outDir);
    const files = await produceFiles(options, outDir, staging, lock?.signal);
    throwIfLost(lock);
    const committed = await commitGeneration(outDir, files, { ...options, sweep: lock !== undefined, tempDir: staging, lock });
    return { outDir, ...committed, waitedMs: lock?.waitedMs ?? 0, durationMs: performance.now() - started, files: files.length };
  } finally {
    if (staging) await fsp.rm(staging, { recursive: true, force: true });
    await lock?.release();
  }
}

export interface CommitGenerationOptions {
  prune?: boolean | 'all';
  stateDir?: string;
  lockDir?: string;
  /** Sweep leftover temp files: only under outDir's lock. */
  sweep: boolean;
  tempDir: string;
  lock?: LockHandle;
}

/**
 * Commits one whole generation into outDir (the caller holds outDir's lock)
 * and records every path it committed in outDir's manifest, so a later
 * generation may prune them: what a generator produced, and what a sync from
 * an Nx-restored stash brought in alike.
 */
export async function commitGeneration(
  outDir: string,
  files: readonly CommitFile[],
  options: CommitGenerationOptions,
): Promise<Pick<GenerateResult, 'stats' | 'newlyLeft' | 'firstGeneration'>> {
  const manifestFile = manifestPath(options.stateDir ?? path.join(options.lockDir ?? resolveLockDir(), 'state'), outDir);
  const manifest = await readManifest(manifestFile, outDir);
  const prune = options.prune ?? true;
  const pruneMode: PruneMode = prune === 'all' ? true : prune === false ? false : { only: new Set(manifest?.written ?? []) };
  const stats = await commitTree(outDir, files, { prune: pruneMode, sweep: options.sweep, tempDir: options.tempDir });
  throwIfLost(options.lock);
  const newlyLeft = await recordGeneration(manifestFile, outDir, files, stats, manifest);
  return { stats, newlyLeft, firstGeneration: manifest === undefined };
}

/** Past this many remembered paths, the ones no longer in outDir are forgotten. */
const MANIFEST_HISTORY_LIMIT = 50_000;

/**
 * Remembers every path lockstep has written here (not just the last
 * generation: an Nx cache restore can bring back an older generation's files,
 * which are still ours to prune) and the foreign files already reported.
 * Returns the foreign files not reported before.
 */
async function recordGeneration(file: string, outDir: string, files: readonly CommitFile[], stats: CommitStats, previous: OutDirManifest | undefined): Promise<string[]> {
  const produced = files.map((f) => normalizeEmittedPath(f.path));
  let written = new Set([...(previous?.written ?? []), ...produced]);
  if (written.size > MANIFEST_HISTORY_LIMIT) written = new Set([...produced, ...stats.left.filter((rel) => written.has(rel))]);
  const reportedBefore = new Set(previous?.reported ?? []);
  const foreign = stats.left.filter((rel) => !written.has(rel));
  await writeManifest(file, { outDir, written: [...written].sort(), reported: foreign });
  return foreign.filter((rel) => !reportedBefore.has(rel));
}

export function throwIfLost(lock: LockHandle | undefined): void {
  if (lock?.signal.aborted) throw lock.signal.reason;
}

/** Output into memory (generator) or into `staging` (command); temp files of the commit go to `staging` too. */
export async function produceFiles(options: Pick<RunGenerateOptions, 'producer' | 'workspaceRoot' | 'projectRoot' | 'projectName' | 'targetOptions' | 'env' | 'log'>, outDir: string, staging: string, signal?: AbortSignal): Promise<CommitFile[]> {
  const { producer } = options;
  if (producer.kind === 'command') {
    await runCommand(producer.command, options.workspaceRoot, { ...(options.env ?? process.env), LOCKSTEP_OUT_DIR: staging }, signal);
    return listStagedFiles(staging);
  }
  const emitted = new Map<string, { content: GeneratedContent; mode?: number }>();
  const ctx: GenerateContext = {
    outDir,
    workspaceRoot: options.workspaceRoot,
    projectRoot: options.projectRoot,
    projectName: options.projectName,
    options: options.targetOptions ?? {},
    emit(relativePath, content, emitOptions) {
      normalizeEmittedPath(relativePath);
      checkContent(producer.name, relativePath, content);
      const mode = emitOptions?.mode;
      if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) throw generatorModeError(producer.name, relativePath, mode);
      emitted.set(relativePath, { content, mode });
    },
  };
  // A generator that ends the process (process.exit) leaves no error to catch: say what happened as it exits.
  const onExit = (code: number) =>
    options.log?.(
      generatorExitedError(producer.name, code).format(),
    );
  process.on('exit', onExit);
  let result: GeneratorResult;
  try {
    result = await producer.generate(ctx);
  } catch (error) {
    if (isLockstepError(error)) throw error;
    throw generatorFailedError(producer.name, error);
  } finally {
    process.removeListener('exit', onExit);
  }
  for (const [file, content] of entriesOf(result, producer.name)) emitted.set(file, { content });
  return [...emitted].map(([file, { content, mode }]) => ({ path: file, source: { data: content }, mode }));
}

function checkContent(name: string, file: unknown, content: unknown): void {
  if (typeof content !== 'string' && !(content instanceof Uint8Array)) {
    throw generatorContentError(name, file, content);
  }
}

function entriesOf(result: GeneratorResult, name: string): Array<readonly [string, GeneratedContent]> {
  if (result === undefined || result === null) return [];
  const refuse = (what: string) => generatorResultError(name, what);
  if (typeof result !== 'object') throw refuse(`a ${typeof result}`);
  const entries: Array<readonly [string, GeneratedContent]> =
    typeof (result as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? [...(result as Iterable<readonly [string, GeneratedContent]>)]
      : Object.entries(result as Record<string, GeneratedContent>);
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) throw refuse('an iterable whose items are not [path, content] pairs');
    const [file, content] = entry;
    normalizeEmittedPath(file);
    checkContent(name, file, content);
  }
  return entries;
}

function runCommand(command: string, cwd: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { cwd, env, shell: true, stdio: 'inherit' });
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(commandStartError(command, error));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (code === 0) return resolve();
      reject(commandFailedError(command, code, sig));
    });
  });
}
