import type { ExecutorContext } from '@nx/devkit';
import { RunStop, createReleaseServices, runRelease, toLockstepError } from '@lockstep/core/dist/publish-task';
import { nxCacheDir } from './nx-cache-dir';
import { normalizePublishOptions } from './normalize-options';
import { projectInfos } from '../project-infos';
import { runDependenciesOf, runProjectsOf } from './run-projects';
import { otherTaskOptions } from './task-options';
import type { PublishExecutorSchema } from './schema';

/**
 * Per-task mode: Nx schedules one task per project (dependsOn: ["^publish"]);
 * this task publishes its project's package, sharing the run's release lock
 * and journal with the other tasks of the same invocation.
 */
export default async function publishExecutor(options: PublishExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  // A signal stops the task (core's release/stop.ts): it reports, then exits 128 + the signal's number.
  const stop = new RunStop({ env: process.env, log: (line) => log(line) });
  const log = (line: string) => stop.print(line.startsWith('\n') ? line : `[lockstep] ${line}`);
  const result = await publishTask(options, context, stop, log);
  if (stop.stopping) await stop.exit();
  stop.dispose();
  return result;
}

async function publishTask(options: PublishExecutorSchema, context: ExecutorContext, stop: RunStop, log: (line: string) => void): Promise<{ success: boolean }> {
  try {
    const targetName = context.targetName ?? 'publish';
    const normalized = normalizePublishOptions(options, { root: context.root, env: process.env });
    const project = context.projectName!;
    const cacheDir = nxCacheDir();
    const { byProject, summary } = await runRelease({
      workspaceRoot: context.root,
      cacheDir,
      targetName,
      projects: projectInfos(context, targetName, new Map([[project, options.packageRoot]])),
      runProjects: runProjectsOf(context.taskGraph, targetName, project),
      runDependencies: runDependenciesOf(context.taskGraph, targetName),
      onlyProjects: [project],
      options: normalized,
      // The other tasks' options, so the run's one check (G6) sees each package's own tag, access and registry.
      optionsByProject: new Map([...otherTaskOptions(context, targetName, options, new Set([project]), process.env), [project, normalized]]),
      services: createReleaseServices(normalized, { workspaceRoot: context.root, cacheDir, env: process.env, log, signal: stop.abort }),
      log,
      env: process.env,
      stop,
    });
    return { success: byProject.get(project) ?? summary.ok };
  } catch (error) {
    stop.printError(`[lockstep] ${toLockstepError(error).format()}`);
    return { success: false };
  }
}
