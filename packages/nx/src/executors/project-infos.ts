import type { ExecutorContext } from '@nx/devkit';
import type { ProjectInfo } from '@lockstep/core';
import { PUBLISH_EXECUTOR } from '../plugins/infer-targets';

/**
 * Every project of the workspace, with the packageRoot its publish target
 * uses: the target `targetName` (the running publish target), or, without
 * one, the project's target that runs lockstep's publish executor, whatever
 * its name.
 */
export function projectInfos(context: ExecutorContext, targetName: string | undefined, overrides: Map<string, string | undefined> = new Map()): ProjectInfo[] {
  const projects = context.projectsConfigurations?.projects ?? {};
  return Object.entries(projects).map(([name, config]) => {
    const target = targetName !== undefined ? config.targets?.[targetName] : Object.values(config.targets ?? {}).find((t) => t.executor === PUBLISH_EXECUTOR);
    return { name, root: config.root, packageRoot: overrides.has(name) ? overrides.get(name) : (target?.options as { packageRoot?: string } | undefined)?.packageRoot };
  });
}
