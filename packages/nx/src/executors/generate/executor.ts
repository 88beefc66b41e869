import * as path from 'path';
import { cacheDir, type ExecutorContext } from '@nx/devkit';
import { type GenerateResult, type HoldStepOptions, cachedSyncTargetError, packageGenerator, readWorkspacePackages, runGenerate, runHoldStep, runStashStep, runSyncStep, toLockstepError } from '@lockstep/core';
import { projectInfos } from '../project-infos';
import { loadGenerator } from './load-generator';
import { normalizeGenerateOptions } from './normalize-options';
import type { GenerateExecutorSchema } from './schema';

export default async function generateExecutor(options: GenerateExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  const log = (line: string) => console.log(`[lockstep] ${line}`);
  try {
    const projectName = context.projectName;
    const projectRoot = projectName ? context.projectsConfigurations?.projects[projectName]?.root : undefined;
    const normalized = normalizeGenerateOptions(options, { root: context.root, projectName, projectRoot, env: process.env });
    const producer =
      normalized.producer.kind === 'command'
        ? normalized.producer
        : normalized.producer.specifier === 'package'
          ? { kind: 'function' as const, name: 'package (built-in)', generate: packageGenerator(readWorkspacePackages(projectInfos(context, undefined), context.root, new Set()).versions) }
          : { kind: 'function' as const, name: normalized.producer.specifier, generate: await loadGenerator(normalized.producer.specifier, context.root) };
    const common = {
      outDir: normalized.outDir,
      producer,
      workspaceRoot: normalized.workspaceRoot,
      projectRoot: normalized.projectRoot,
      projectName: normalized.projectName,
      targetOptions: { ...options },
      prune: normalized.prune,
      allowOutsideWorkspace: normalized.allowOutsideWorkspace,
      projectRoots: Object.values(context.projectsConfigurations?.projects ?? {}).map((p) => p.root),
      reservedDirs: [cacheDir, path.join(context.root, '.nx'), ...(process.env.NX_WORKSPACE_DATA_DIRECTORY ? [process.env.NX_WORKSPACE_DATA_DIRECTORY] : [])],
      stateDir: path.join(cacheDir, 'lockstep'),
      lockTimeoutMs: normalized.lockTimeoutMs,
      noLock: normalized.noLock,
      log,
    };
    if (normalized.phase !== 'direct') {
      return await runStashPhase(normalized.phase, { ...common, stashDir: normalized.stashDir!, runPid: Number(process.env.NX_INVOCATION_ROOT_PID) || process.pid }, normalized.outDirDisplay, context, log);
    }
    const result = await runGenerate(common);
    reportCommit(result, normalized.outDirDisplay, normalized.noLock, log);
    return { success: true };
  } catch (error) {
    console.error(`[lockstep] ${toLockstepError(error).format()}`);
    return { success: false };
  }
}

function reportCommit(result: GenerateResult, outDirDisplay: string, noLock: boolean, log: (line: string) => void, from = ''): void {
  const { stats } = result;
  log(
    `${outDirDisplay}: ${result.files} files${from}, ${stats.written} written, ${stats.unchanged} unchanged, ${stats.pruned} pruned` +
      `${stats.left.length ? `, ${stats.left.length} left (not written by lockstep)` : ''}` +
      `${stats.sweptTemps ? `, ${stats.sweptTemps} leftover temp files swept` : ''} in ${Math.round(result.durationMs)} ms` +
      `${result.waitedMs >= 1 ? ` (waited ${Math.round(result.waitedMs)} ms for the lock)` : ''}${noLock ? ' (LOCKSTEP_NO_LOCK=1: unlocked)' : ''}`,
  );
  if (result.newlyLeft.length > 0) {
    const shown = result.newlyLeft.slice(0, 10).join(', ') + (result.newlyLeft.length > 10 ? ` and ${result.newlyLeft.length - 10} more` : '');
    log(
      `${result.firstGeneration ? 'First generation into a non-empty outDir: left' : 'Left'} ${result.newlyLeft.length} file(s) that lockstep did not write: ${shown}. ` +
        'They stay until you remove them (or set "prune": "all"); this is said once per file.',
    );
  }
}

/** The hold, stash and sync tasks of a target with "stash" (see @lockstep/core's generate/stash.ts). */
async function runStashPhase(
  phase: 'hold' | 'stash' | 'sync',
  options: HoldStepOptions,
  outDirDisplay: string,
  context: ExecutorContext,
  log: (line: string) => void,
): Promise<{ success: boolean }> {
  const stashDisplay = path.relative(context.root, options.stashDir) || '.';
  if (phase === 'hold') {
    const held = await runHoldStep(options);
    log(`${outDirDisplay}: held for this nx run${held.joined ? ' (joined)' : ''}${held.waitedMs >= 1 ? ` (waited ${Math.round(held.waitedMs)} ms for the lock)` : ''}`);
    return { success: true };
  }
  if (phase === 'stash') {
    const result = await runStashStep({ ...options, taskHash: process.env.NX_TASK_HASH });
    const { stats } = result;
    log(`${outDirDisplay}: generated into the stash ${stashDisplay}: ${result.files} files, ${stats.written} written, ${stats.unchanged} unchanged, ${stats.pruned} pruned in ${Math.round(result.durationMs)} ms`);
    return { success: true };
  }
  const self = context.projectName && context.targetName ? context.projectsConfigurations?.projects[context.projectName]?.targets?.[context.targetName] : undefined;
  if (self?.cache === true && (self.outputs ?? []).length > 0) throw cachedSyncTargetError(`${context.projectName}:${context.targetName}`);
  const result = await runSyncStep({ ...options, expectedHash: stashTaskHash(context) });
  reportCommit(result, outDirDisplay, options.noLock === true, log, ` from the stash ${stashDisplay}`);
  return { success: true };
}

/** The Nx hash of the stash task this sync depends on, when the task graph has it. */
function stashTaskHash(context: ExecutorContext): string | undefined {
  const graph = context.taskGraph;
  if (!graph || !context.projectName || !context.targetName) return undefined;
  const self = Object.keys(graph.tasks).find((id) => graph.tasks[id].target.project === context.projectName && graph.tasks[id].target.target === context.targetName);
  for (const dep of self ? (graph.dependencies[self] ?? []) : []) {
    const task = graph.tasks[dep];
    const target = task ? context.projectsConfigurations?.projects[task.target.project]?.targets?.[task.target.target] : undefined;
    if ((target?.options as { phase?: unknown } | undefined)?.phase === 'stash' && task.hash) return task.hash;
  }
  return undefined;
}
