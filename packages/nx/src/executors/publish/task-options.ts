import type { ExecutorContext } from '@nx/devkit';
import type { ReleaseOptions } from '@lockstep/core/dist/publish-task';
import { RUN_WIDE_OPTIONS, normalizePublishOptions } from './normalize-options';
import type { PublishExecutorSchema } from './schema';

/**
 * The options of the run's other publish tasks, as Nx will give them to
 * those tasks (target options, then the task's configuration, then its
 * command-line overrides), for a process that only has its own: a per-task
 * run, or one batch of a run Nx splits into several. The task that checks the
 * whole run before the first upload (G6) then checks each package with its
 * own tag, access and registry (a prerelease is refused only when its own
 * task sets no tag, not when the checking task sets none). Run-wide options
 * are this task's (they must agree). A project whose options do not normalise
 * is left out: its own task fails on them (EBADOPTIONS) before it publishes.
 */
export function otherTaskOptions(
  context: Pick<ExecutorContext, 'projectsConfigurations' | 'taskGraph' | 'root'>,
  targetName: string,
  own: PublishExecutorSchema,
  known: ReadonlySet<string>,
  env: NodeJS.ProcessEnv,
): Map<string, ReleaseOptions> {
  const out = new Map<string, ReleaseOptions>();
  const runWide = Object.fromEntries(Object.entries(own ?? {}).filter(([key]) => (RUN_WIDE_OPTIONS as readonly string[]).includes(key)));
  for (const task of Object.values(context.taskGraph?.tasks ?? {})) {
    const project = task.target.project;
    if (task.target.target !== targetName || known.has(project)) continue;
    const target = context.projectsConfigurations?.projects?.[project]?.targets?.[targetName];
    const configured = task.target.configuration ? target?.configurations?.[task.target.configuration] : undefined;
    const merged: Record<string, unknown> = { ...(target?.options ?? {}), ...(configured ?? {}), ...(task.overrides ?? {}) };
    const perPackage = Object.fromEntries(Object.entries(merged).filter(([key]) => !key.startsWith('__') && key !== 'packageRoot' && !(RUN_WIDE_OPTIONS as readonly string[]).includes(key)));
    try {
      out.set(project, normalizePublishOptions({ ...runWide, ...perPackage } as PublishExecutorSchema, { root: context.root, env }));
    } catch {
      // Its own task says what is wrong.
    }
  }
  return out;
}
