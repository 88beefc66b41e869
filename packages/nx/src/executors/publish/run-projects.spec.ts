import type { TaskGraph } from '@nx/devkit';
import { runDependenciesOf } from './run-projects';

describe('runDependenciesOf: the run\'s dependencies as Nx orders the tasks', () => {
  const task = (project: string, target = 'publish') => ({ id: `${project}:${target}`, target: { project, target }, overrides: {}, outputs: [], parallelism: true });

  it('direct publish dependencies, and those reached through tasks of other targets', () => {
    const graph = {
      roots: [],
      tasks: Object.fromEntries([task('a'), task('b'), task('c'), task('b', 'build')].map((t) => [t.id, t])),
      dependencies: { 'a:publish': [], 'b:publish': ['b:build'], 'b:build': ['a:publish'], 'c:publish': ['b:publish', 'a:publish'] },
      continuousDependencies: {},
    } as unknown as TaskGraph;
    expect(runDependenciesOf(graph, 'publish')).toEqual(
      new Map([
        ['a', []],
        ['b', ['a']],
        ['c', ['a', 'b']],
      ]),
    );
    expect(runDependenciesOf(undefined, 'publish')).toBeUndefined();
  });
});
