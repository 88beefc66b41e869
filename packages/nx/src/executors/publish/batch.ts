import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { RunStop, createReleaseServices, runRelease, toLockstepError, type ReleaseOptions } from '@lockstep/core/dist/publish-task';
import { nxCacheDir } from './nx-cache-dir';
import { checkRunWideOptions, normalizePublishOptions } from './normalize-options';
import { projectInfos } from '../project-infos';
import { runDependenciesOf, runProjectsOf } from './run-projects';
import { otherTaskOptions } from './task-options';
import type { PublishExecutorSchema } from './schema';

type TaskResult = { success: boolean; terminalOutput: string; status?: 'success' | 'failure' | 'skipped' };

/**
 * Batch mode (`nx run-many -t publish --batch`): one process schedules the
 * whole run with maxConcurrency parallel publishes, dependency-driven, and
 * answers one result per task. Each package is published with its own
 * task's options; the tasks must agree on the run-wide ones
 * (RUN_WIDE_OPTIONS, EBADOPTIONS otherwise).
 */
export default async function publishBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, PublishExecutorSchema>,
  _overrides: PublishExecutorSchema,
  context: ExecutorContext,
): Promise<Record<string, TaskResult>> {
  const taskIds = Object.keys(inputs);
  const projectOf = new Map(taskIds.map((id) => [id, taskGraph.tasks[id]?.target.project ?? id.split(':')[0]]));
  const lines: string[] = [];
  // A signal stops the batch (core's release/stop.ts); answered() then exits 128 + its number instead of answering Nx, which marks the tasks stopped.
  const stop = new RunStop({ env: process.env, log: (line) => log(line) });
  const log = (line: string) => {
    lines.push(line);
    stop.print(line.startsWith('\n') ? line : `[lockstep] ${line}`);
  };
  const outputFor = (name: string | undefined) => lines.filter((l) => !name || l.includes(` ${name}@`)).join('\n');
  try {
    const targetName = taskGraph.tasks[taskIds[0]]?.target.target ?? context.targetName ?? 'publish';
    // Each task's own options: per-package ones (registry, tag, access, otp, …) apply to its package; run-wide ones must agree.
    const optionsByProject = new Map<string, ReleaseOptions>();
    for (const id of taskIds) optionsByProject.set(projectOf.get(id)!, normalizePublishOptions(inputs[id] ?? {}, { root: context.root, env: process.env }));
    checkRunWideOptions(optionsByProject);
    const normalized = optionsByProject.get(projectOf.get(taskIds[0])!)!;
    const packageRoots = new Map(taskIds.map((id) => [projectOf.get(id)!, inputs[id]?.packageRoot]));
    // When publish also depends on other targets (build), Nx hands the run over in several batches as
    // those finish: each batch is then a part of the invocation's one run (one hold, one journal, one
    // report by whichever part ends it), as the tasks of a per-task run are.
    const batchProjects = [...new Set(projectOf.values())].sort();
    const invocationProjects = runProjectsOf(context.taskGraph, targetName, undefined);
    const partOfRun = invocationProjects.length > batchProjects.length && batchProjects.every((p) => invocationProjects.includes(p));
    // A part of the run: the other batches' tasks have options of their own, which the run's one check (G6) must see.
    if (partOfRun) for (const [project, other] of otherTaskOptions(context, targetName, inputs[taskIds[0]] ?? {}, new Set(batchProjects), process.env)) optionsByProject.set(project, other);
    const cacheDir = nxCacheDir();
    const { byProject, summary } = await runRelease({
      workspaceRoot: context.root,
      cacheDir,
      targetName,
      projects: projectInfos(context, targetName, packageRoots),
      runProjects: partOfRun ? invocationProjects : batchProjects,
      // Every batch is a process of its own, forked by the Nx process that runs the invocation.
      ...(partOfRun ? { onlyProjects: batchProjects, runDependencies: runDependenciesOf(context.taskGraph, targetName), runPid: process.ppid } : {}),
      options: normalized,
      optionsByProject,
      services: createReleaseServices(normalized, { workspaceRoot: context.root, cacheDir, env: process.env, log, signal: stop.abort }),
      log,
      env: process.env,
      stop,
    });
    const nameOf = new Map(summary.packages.map((p) => [p.project, p.name]));
    return await answered(stop, Object.fromEntries(
      taskIds.map((id) => {
        const project = projectOf.get(id)!;
        const success = byProject.get(project) ?? summary.ok;
        return [id, { success, status: success ? 'success' : 'failure', terminalOutput: outputFor(nameOf.get(project)) }];
      }),
    ));
  } catch (error) {
    const message = `[lockstep] ${toLockstepError(error).format()}`;
    stop.printError(message);
    return answered(stop, Object.fromEntries(taskIds.map((id) => [id, { success: false, status: 'failure', terminalOutput: message }])));
  }
}

/** The batch's answer to Nx; a stopped batch exits 128 + the signal's number instead (stop.exit). */
async function answered(stop: RunStop, results: Record<string, TaskResult>): Promise<Record<string, TaskResult>> {
  if (stop.stopping) await stop.exit();
  stop.dispose();
  return results;
}
