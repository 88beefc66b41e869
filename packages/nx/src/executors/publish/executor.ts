import { cacheDir, type ExecutorContext } from '@nx/devkit';
import { toLockstepError } from '@lockstep/core';
import { createPublishServices } from './default-services';
import { normalizePublishOptions } from './normalize-options';
import { publishRun } from './publish-run';
import { projectInfos, runProjectsOf } from './run-projects';
import type { PublishExecutorSchema } from './schema';

/**
 * Per-task mode: Nx schedules one task per project (dependsOn: ["^publish"]);
 * this task publishes its project's package, sharing the run's release lock
 * and journal with the other tasks of the same invocation.
 */
export default async function publishExecutor(options: PublishExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  const log = (line: string) => console.log(line.startsWith('\n') ? line : `[lockstep] ${line}`);
  try {
    const targetName = context.targetName ?? 'publish';
    const normalized = normalizePublishOptions(options, { root: context.root, env: process.env });
    const project = context.projectName!;
    const { byProject, summary } = await publishRun({
      workspaceRoot: context.root,
      cacheDir,
      targetName,
      projects: projectInfos(context, targetName, new Map([[project, options.packageRoot]])),
      runProjects: runProjectsOf(context.taskGraph, targetName, project),
      onlyProject: project,
      options: normalized,
      services: createPublishServices(normalized, { workspaceRoot: context.root, cacheDir, env: process.env, log }),
      log,
      env: process.env,
    });
    return { success: byProject.get(project) ?? summary.ok };
  } catch (error) {
    console.error(`[lockstep] ${toLockstepError(error).format()}`);
    return { success: false };
  }
}
