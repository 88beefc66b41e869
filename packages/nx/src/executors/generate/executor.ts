import * as path from 'path';
import { cacheDir, type ExecutorContext } from '@nx/devkit';
import { runGenerate, toLockstepError } from '@lockstep/core';
import { projectInfos } from '../publish/run-projects';
import { readWorkspacePackages } from '../publish/workspace-packages';
import { loadGenerator } from './load-generator';
import { packageGenerator } from './package-generator';
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
          ? { kind: 'function' as const, name: 'package (built-in)', generate: packageGenerator(readWorkspacePackages(projectInfos(context, 'publish'), context.root, new Set()).versions) }
          : { kind: 'function' as const, name: normalized.producer.specifier, generate: await loadGenerator(normalized.producer.specifier, context.root) };
    const result = await runGenerate({
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
    });
    const { stats } = result;
    log(
      `${normalized.outDirDisplay}: ${result.files} files, ${stats.written} written, ${stats.unchanged} unchanged, ${stats.pruned} pruned` +
        `${stats.left.length ? `, ${stats.left.length} left (not written by lockstep)` : ''}` +
        `${stats.sweptTemps ? `, ${stats.sweptTemps} leftover temp files swept` : ''} in ${Math.round(result.durationMs)} ms` +
        `${result.waitedMs >= 1 ? ` (waited ${Math.round(result.waitedMs)} ms for the lock)` : ''}${normalized.noLock ? ' (LOCKSTEP_NO_LOCK=1: unlocked)' : ''}`,
    );
    if (result.newlyLeft.length > 0) {
      const shown = result.newlyLeft.slice(0, 10).join(', ') + (result.newlyLeft.length > 10 ? ` and ${result.newlyLeft.length - 10} more` : '');
      log(
        `${result.firstGeneration ? 'First generation into a non-empty outDir: left' : 'Left'} ${result.newlyLeft.length} file(s) that lockstep did not write: ${shown}. ` +
          'They stay until you remove them (or set "prune": "all"); this is said once per file.',
      );
    }
    return { success: true };
  } catch (error) {
    console.error(`[lockstep] ${toLockstepError(error).format()}`);
    return { success: false };
  }
}
