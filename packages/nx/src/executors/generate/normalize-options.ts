import * as path from 'path';
import { DEFAULT_LOCK_TIMEOUT_MS, defaultStashDir } from '@lockstep/core';
import { badOptionError } from '../../errors';
import type { GenerateExecutorSchema } from './schema';

export interface NormalizedGenerateOptions {
  /** Absolute. */
  outDir: string;
  /** Workspace-relative, for messages. */
  outDirDisplay: string;
  producer: { kind: 'module'; specifier: string } | { kind: 'command'; command: string };
  prune: boolean | 'all';
  /**
   * What this task does: `direct` generates into outDir (no stash); with a
   * stash, `hold` takes outDir's lock for the Nx run, `stash` generates into
   * the stash (the task Nx caches), `sync` brings outDir up to date from it.
   */
  phase: 'direct' | 'hold' | 'stash' | 'sync';
  /** Absolute stash directory, when the target has "stash". */
  stashDir?: string;
  allowOutsideWorkspace: boolean;
  lockTimeoutMs: number;
  noLock: boolean;
  workspaceRoot: string;
  projectRoot?: string;
  projectName?: string;
}

export interface NormalizeContext {
  root: string;
  projectName?: string;
  projectRoot?: string;
  env: NodeJS.ProcessEnv;
}


/** Resolves paths, environment and defaults once; nothing downstream re-checks. */
export function normalizeGenerateOptions(options: Partial<GenerateExecutorSchema>, ctx: NormalizeContext): NormalizedGenerateOptions {
  if (typeof options.outDir !== 'string' || options.outDir.trim() === '') {
    throw badOptionError('The generate target needs an outDir.', 'Set "outDir" in the target\'s options, e.g. "dist/generated/<project>".');
  }
  // Where outDir really leads (links, the workspace, projects, .git) is checked by runGenerate on real paths.
  const outDir = path.resolve(ctx.root, options.outDir);

  const hasGenerator = typeof options.generator === 'string' && options.generator.trim() !== '';
  const hasCommand = typeof options.command === 'string' && options.command.trim() !== '';
  if (hasGenerator === hasCommand) {
    throw badOptionError(
      hasGenerator ? 'Set either generator or command, not both.' : 'The generate target needs a generator or a command.',
      'Use "generator": "tools/my-generator.js" (exporting generate(ctx)), or "command": "node gen.js --out $LOCKSTEP_OUT_DIR".',
    );
  }

  if (options.prune !== undefined && typeof options.prune !== 'boolean' && options.prune !== 'all') {
    throw badOptionError(
      `prune must be true, false or "all", not ${JSON.stringify(options.prune)}.`,
      'Remove the option to keep the default (true: remove only files an earlier generation wrote).',
    );
  }
  const stash = options.stash;
  if (stash !== undefined && typeof stash !== 'boolean' && (typeof stash !== 'string' || stash.trim() === '')) {
    throw badOptionError(`stash must be true, false or a workspace-relative directory, not ${JSON.stringify(stash)}.`, 'Use "stash": true (a hidden sibling of outDir, .<name>.lockstep-stash).');
  }
  const phase = options.phase;
  if (phase !== undefined && phase !== 'hold' && phase !== 'stash') {
    throw badOptionError(`phase must be "hold" or "stash", not ${JSON.stringify(phase)}.`, 'Leave phase out: the @lockstep/nx plugin sets it on the targets it infers (<target>--hold, <target>--stash).');
  }
  if (phase !== undefined && !stash) {
    throw badOptionError(`phase "${phase}" needs "stash".`, 'Set "stash": true on the target, or leave phase out: the @lockstep/nx plugin infers the hold and stash targets from it.');
  }
  const stashDir = stash ? path.resolve(ctx.root, typeof stash === 'string' ? stash.trim() : defaultStashDir(path.relative(ctx.root, outDir) || '.')) : undefined;
  if (options.allowOutsideWorkspace !== undefined && typeof options.allowOutsideWorkspace !== 'boolean') {
    throw badOptionError(`allowOutsideWorkspace must be true or false, not ${JSON.stringify(options.allowOutsideWorkspace)}.`, 'Remove the option to keep outDir inside the workspace.');
  }

  return {
    outDir,
    outDirDisplay: path.relative(ctx.root, outDir) || '.',
    producer: hasGenerator ? { kind: 'module', specifier: options.generator!.trim() } : { kind: 'command', command: options.command! },
    prune: options.prune ?? true,
    phase: !stashDir ? 'direct' : (phase ?? 'sync'),
    ...(stashDir ? { stashDir } : {}),
    allowOutsideWorkspace: options.allowOutsideWorkspace ?? false,
    lockTimeoutMs: resolveTimeout(options.lockTimeoutMs, ctx.env.LOCKSTEP_LOCK_TIMEOUT_MS),
    noLock: ctx.env.LOCKSTEP_NO_LOCK === '1',
    workspaceRoot: ctx.root,
    projectRoot: ctx.projectRoot,
    projectName: ctx.projectName,
  };
}

function resolveTimeout(option: unknown, env: string | undefined): number {
  if (option !== undefined) {
    if (typeof option !== 'number' || !Number.isFinite(option) || option < 0) {
      throw badOptionError(`lockTimeoutMs must be a number of milliseconds ≥ 0, not ${JSON.stringify(option)}.`, 'For 10 minutes use 600000.');
    }
    return option;
  }
  if (env !== undefined && env !== '') {
    const value = Number(env);
    if (!Number.isFinite(value) || value < 0) {
      throw badOptionError(`LOCKSTEP_LOCK_TIMEOUT_MS must be a number of milliseconds ≥ 0, not '${env}'.`, 'For 10 minutes use LOCKSTEP_LOCK_TIMEOUT_MS=600000.');
    }
    return value;
  }
  return DEFAULT_LOCK_TIMEOUT_MS;
}
