import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import type { ProjectInfo } from './workspace-packages';

/** Every project of the workspace, with the packageRoot its publish target uses. */
export function projectInfos(context: ExecutorContext, targetName: string, overrides: Map<string, string | undefined> = new Map()): ProjectInfo[] {
  const projects = context.projectsConfigurations?.projects ?? {};
  return Object.entries(projects).map(([name, config]) => ({
    name,
    root: config.root,
    packageRoot: overrides.has(name) ? overrides.get(name) : (config.targets?.[targetName]?.options as { packageRoot?: string } | undefined)?.packageRoot,
  }));
}

/** The projects whose `targetName` tasks are part of this Nx invocation: one run. */
export function runProjectsOf(taskGraph: TaskGraph | undefined, targetName: string, fallback: string | undefined): string[] {
  const projects = new Set<string>();
  for (const task of Object.values(taskGraph?.tasks ?? {})) if (task.target.target === targetName) projects.add(task.target.project);
  if (projects.size === 0 && fallback) projects.add(fallback);
  return [...projects].sort();
}
