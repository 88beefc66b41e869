import { spawn } from 'child_process';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { CommitFile, CommitStats, commitTree } from '../atomic/commit-tree';
import { ErrorCodes, LockstepError, isLockstepError } from '../errors';
import { LockHandle, WaitInfo, acquireLock } from '../lock/lock';
import { describeOwner } from '../lock/owner';
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
  /** Adds (or replaces) a file of the output, by path relative to outDir. */
  emit(relativePath: string, content: GeneratedContent): void;
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
  prune?: boolean;
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
  await fsp.mkdir(options.outDir, { recursive: true });
  const outDir = await fsp.realpath(options.outDir);

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
    if (lock) await sweepStagingDirs(outDir);
    staging = await createStagingDir(outDir);
    const files = await produce(options, outDir, staging, lock?.signal);
    throwIfLost(lock);
    const stats = await commitTree(outDir, files, { prune: options.prune ?? true, sweep: lock !== undefined, tempDir: staging });
    throwIfLost(lock);
    return { outDir, stats, waitedMs: lock?.waitedMs ?? 0, durationMs: performance.now() - started, files: files.length };
  } finally {
    if (staging) await fsp.rm(staging, { recursive: true, force: true });
    await lock?.release();
  }
}

function throwIfLost(lock: LockHandle | undefined): void {
  if (lock?.signal.aborted) throw lock.signal.reason;
}

/** Output into memory (generator) or into `staging` (command); temp files of the commit go to `staging` too. */
async function produce(options: RunGenerateOptions, outDir: string, staging: string, signal?: AbortSignal): Promise<CommitFile[]> {
  const { producer } = options;
  if (producer.kind === 'command') {
    await runCommand(producer.command, options.workspaceRoot, { ...(options.env ?? process.env), LOCKSTEP_OUT_DIR: staging }, signal);
    return listStagedFiles(staging);
  }
  const emitted = new Map<string, GeneratedContent>();
  const ctx: GenerateContext = {
    outDir,
    workspaceRoot: options.workspaceRoot,
    projectRoot: options.projectRoot,
    projectName: options.projectName,
    options: options.targetOptions ?? {},
    emit(relativePath, content) {
      emitted.set(relativePath, content);
    },
  };
  let result: GeneratorResult;
  try {
    result = await producer.generate(ctx);
  } catch (error) {
    if (isLockstepError(error)) throw error;
    throw new LockstepError(ErrorCodes.EGENERATOR, `The generator ${producer.name} failed: ${(error as Error)?.message ?? String(error)}`, {
      hint: 'outDir was left as it was. Fix the generator and run again.',
      cause: error,
    });
  }
  for (const [file, content] of entriesOf(result, producer.name)) emitted.set(file, content);
  return [...emitted].map(([file, data]) => ({ path: file, source: { data } }));
}

function entriesOf(result: GeneratorResult, name: string): Array<readonly [string, GeneratedContent]> {
  if (result === undefined || result === null) return [];
  const entries: Array<readonly [string, GeneratedContent]> =
    typeof (result as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? [...(result as Iterable<readonly [string, GeneratedContent]>)]
      : Object.entries(result as Record<string, GeneratedContent>);
  for (const [file, content] of entries) {
    if (typeof content !== 'string' && !(content instanceof Uint8Array)) {
      throw new LockstepError(ErrorCodes.EGENERATOR, `The generator ${name} returned ${typeof content} for '${file}'; expected a string or bytes.`, {
        hint: 'Return { "path/in/outDir": "content" }, or call ctx.emit(path, content).',
      });
    }
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
      reject(new LockstepError(ErrorCodes.EGENERATOR, `Could not start the command '${command}': ${error.message}`, { hint: 'Check the command option.' }));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (code === 0) return resolve();
      reject(
        new LockstepError(ErrorCodes.EGENERATOR, `The command '${command}' ${sig ? `was killed by ${sig}` : `exited with code ${code}`}.`, {
          hint: 'outDir was left as it was. Its output above says why it failed.',
        }),
      );
    });
  });
}
