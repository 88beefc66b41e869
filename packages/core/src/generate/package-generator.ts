import * as path from 'path';
import type { GeneratorFunction } from './run-generate';
import { stagePackage } from '../pack/stage-package';

/**
 * The built-in `package` generator: a publish-ready copy of the project (the
 * files npm would publish, internal workspace:/file:/link: dependencies
 * rewritten to the workspace's versions), so publish can use the cached
 * outDir as its packageRoot.
 */
export function packageGenerator(workspaceVersions: Map<string, string>): GeneratorFunction {
  return async (ctx) => {
    const dir = path.resolve(ctx.workspaceRoot, ctx.projectRoot ?? '.');
    const staged = await stagePackage(dir, { releaseVersions: workspaceVersions, workspaceVersions, workspaceRoot: ctx.workspaceRoot });
    // emit, not a returned map: it carries each file's mode (a script keeps its exec bit).
    for (const file of staged.files) ctx.emit(file.path, file.data, { mode: file.mode });
  };
}
