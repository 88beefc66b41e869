import * as path from 'path';
import { DEFAULT_LOCK_TIMEOUT_MS, ErrorCodes, LockstepError } from '@lockstep/core';
import type { GenerateExecutorSchema } from './schema';

export interface NormalizedGenerateOptions {
  /** Absolute. */
  outDir: string;
  /** Workspace-relative, for messages. */
  outDirDisplay: string;
  producer: { kind: 'module'; specifier: string } | { kind: 'command'; command: string };
  prune: boolean;
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

const bad = (message: string, hint: string) => new LockstepError(ErrorCodes.EBADOPTIONS, message, { hint });

/** Resolves paths, environment and defaults once; nothing downstream re-checks. */
export function normalizeGenerateOptions(options: Partial<GenerateExecutorSchema>, ctx: NormalizeContext): NormalizedGenerateOptions {
  if (typeof options.outDir !== 'string' || options.outDir.trim() === '') {
    throw bad('The generate target needs an outDir.', 'Set "outDir" in the target\'s options, e.g. "dist/generated/<project>".');
  }
  const outDir = path.resolve(ctx.root, options.outDir);
  const contains = (outer: string, inner: string) => inner === outer || inner.startsWith(outer + path.sep);
  if (contains(outDir, ctx.root)) {
    throw bad(`outDir '${options.outDir}' is the workspace root or contains it.`, 'Point outDir at a directory of its own: its stale files are pruned.');
  }
  if (ctx.projectRoot && contains(outDir, path.resolve(ctx.root, ctx.projectRoot))) {
    throw bad(
      `outDir '${options.outDir}' is the project root or contains it; pruning would delete the project's sources.`,
      'Point outDir at a directory of its own, such as "dist/<project>" or "<projectRoot>/generated".',
    );
  }

  const hasGenerator = typeof options.generator === 'string' && options.generator.trim() !== '';
  const hasCommand = typeof options.command === 'string' && options.command.trim() !== '';
  if (hasGenerator === hasCommand) {
    throw bad(
      hasGenerator ? 'Set either generator or command, not both.' : 'The generate target needs a generator or a command.',
      'Use "generator": "tools/my-generator.js" (exporting generate(ctx)), or "command": "node gen.js --out $LOCKSTEP_OUT_DIR".',
    );
  }

  if (options.prune !== undefined && typeof options.prune !== 'boolean') {
    throw bad(`prune must be true or false, not ${JSON.stringify(options.prune)}.`, 'Remove the option to keep the default (true).');
  }

  return {
    outDir,
    outDirDisplay: path.relative(ctx.root, outDir) || '.',
    producer: hasGenerator ? { kind: 'module', specifier: options.generator!.trim() } : { kind: 'command', command: options.command! },
    prune: options.prune ?? true,
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
      throw bad(`lockTimeoutMs must be a number of milliseconds ≥ 0, not ${JSON.stringify(option)}.`, 'For 10 minutes use 600000.');
    }
    return option;
  }
  if (env !== undefined && env !== '') {
    const value = Number(env);
    if (!Number.isFinite(value) || value < 0) {
      throw bad(`LOCKSTEP_LOCK_TIMEOUT_MS must be a number of milliseconds ≥ 0, not '${env}'.`, 'For 10 minutes use LOCKSTEP_LOCK_TIMEOUT_MS=600000.');
    }
    return value;
  }
  return DEFAULT_LOCK_TIMEOUT_MS;
}
