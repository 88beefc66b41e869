import type { TaskGraph } from '@nx/devkit';

/** The projects whose `targetName` tasks are part of this Nx invocation: one run. */
export function runProjectsOf(taskGraph: TaskGraph | undefined, targetName: string, fallback: string | undefined): string[] {
  const projects = new Set<string>();
  for (const task of Object.values(taskGraph?.tasks ?? {})) if (task.target.target === targetName) projects.add(task.target.project);
  if (projects.size === 0 && fallback) projects.add(fallback);
  return [...projects].sort();
}

/**
 * For each project of the run, the projects whose `targetName` tasks its own
 * task waits for in Nx's task graph (directly, or through tasks of other
 * targets): per task, Nx runs no task whose dependency failed. Undefined
 * without a task graph.
 */
export function runDependenciesOf(taskGraph: TaskGraph | undefined, targetName: string): Map<string, string[]> | undefined {
  if (!taskGraph?.tasks) return undefined;
  const out = new Map<string, string[]>();
  for (const [id, task] of Object.entries(taskGraph.tasks)) {
    if (task.target.target !== targetName) continue;
    const found = new Set<string>();
    const seen = new Set<string>([id]);
    const stack = [...(taskGraph.dependencies?.[id] ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      const dep = taskGraph.tasks[next];
      if (dep?.target.target === targetName) found.add(dep.target.project);
      else stack.push(...(taskGraph.dependencies?.[next] ?? []));
    }
    out.set(task.target.project, [...found].sort());
  }
  return out;
}
