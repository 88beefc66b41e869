import type { ExecutorContext } from '@nx/devkit';
import { projectInfos } from './project-infos';

describe('projectInfos: the packageRoot of each project\'s publish target', () => {
  const context = {
    projectsConfigurations: {
      version: 2,
      projects: {
        a: { root: 'libs/a', targets: { publish: { executor: '@lockstep/nx:publish', options: { packageRoot: 'dist/a' } } } },
        b: { root: 'libs/b', targets: { release: { executor: '@lockstep/nx:publish', options: { packageRoot: 'dist/b' } }, publish: { executor: 'nx:run-commands', options: { packageRoot: 'other' } } } },
        c: { root: 'libs/c', targets: {} },
      },
    },
  } as unknown as ExecutorContext;

  it('the running target\'s options when a target name is given, overrides first', () => {
    expect(projectInfos(context, 'publish', new Map([['a', 'out/a']]))).toEqual([
      { name: 'a', root: 'libs/a', packageRoot: 'out/a' },
      { name: 'b', root: 'libs/b', packageRoot: 'other' },
      { name: 'c', root: 'libs/c', packageRoot: undefined },
    ]);
  });

  it('without one (the generate executor), the target that runs lockstep\'s publish executor, whatever its name', () => {
    expect(projectInfos(context, undefined)).toEqual([
      { name: 'a', root: 'libs/a', packageRoot: 'dist/a' },
      { name: 'b', root: 'libs/b', packageRoot: 'dist/b' },
      { name: 'c', root: 'libs/c', packageRoot: undefined },
    ]);
  });
});
