import type { ExecutorContext } from '@nx/devkit';
import { otherTaskOptions } from './task-options';

const task = (project: string, overrides: Record<string, unknown> = {}, configuration?: string) => ({
  id: `${project}:publish`,
  target: { project, target: 'publish', ...(configuration ? { configuration } : {}) },
  overrides,
  outputs: [],
  parallelism: true,
});

const context = (tasks: ReturnType<typeof task>[], targets: Record<string, Record<string, unknown>>) =>
  ({
    root: '/ws',
    taskGraph: { roots: [], dependencies: {}, continuousDependencies: {}, tasks: Object.fromEntries(tasks.map((t) => [t.id, t])) },
    projectsConfigurations: { version: 2, projects: Object.fromEntries(Object.entries(targets).map(([name, publish]) => [name, { root: `packages/${name}`, targets: { publish } }])) },
  }) as unknown as Pick<ExecutorContext, 'projectsConfigurations' | 'taskGraph' | 'root'>;

describe('otherTaskOptions', () => {
  it('each other task gets its target options, its configuration and its overrides (per-package keys), the run-wide ones of this task', () => {
    const ctx = context([task('own'), task('a', { __overrides_unparsed__: [], access: 'public' }), task('b', {}, 'beta'), task('c')], {
      own: { options: { tag: 'own-tag', maxConcurrency: 3 } },
      a: { options: { tag: 'next', maxConcurrency: 9, packageRoot: 'dist/a' } },
      b: { options: { tag: 'next' }, configurations: { beta: { tag: 'beta', registry: 'http://other.test/' } } },
      c: {},
    });
    const out = otherTaskOptions(ctx, 'publish', { tag: 'own-tag', maxConcurrency: 3 }, new Set(['own']), {});
    expect([...out.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(out.get('a')).toMatchObject({ tag: 'next', access: 'public', maxConcurrency: 3 });
    expect(out.get('b')).toMatchObject({ tag: 'beta', registry: 'http://other.test/' });
    // Not this task's tag: none set is unset (publishConfig.tag, else latest, and a prerelease needs one).
    expect(out.get('c')!.tag).toBeUndefined();
  });

  it('a project whose options do not normalise is left out (its own task fails on them)', () => {
    const ctx = context([task('own'), task('bad')], { own: {}, bad: { options: { access: 'secret' } } });
    expect([...otherTaskOptions(ctx, 'publish', {}, new Set(['own']), {}).keys()]).toEqual([]);
  });
});
