import { planLevels } from './plan-levels';

describe('planLevels', () => {
  it('puts each package one level above its highest dependency and finds the critical path', () => {
    const plan = planLevels([
      { name: 'app', deps: ['ui', 'utils'] },
      { name: 'ui', deps: ['utils', 'react'] },
      { name: 'utils', deps: [] },
      { name: 'cli', deps: ['utils'] },
    ]);
    expect(plan.byLevel).toEqual([['utils'], ['cli', 'ui'], ['app']]);
    expect(plan.levels.get('app')).toBe(2);
    expect(plan.deps.get('ui')).toEqual(['utils']);
    expect(plan.criticalPath).toEqual(['utils', 'ui', 'app']);
  });

  it('refuses a cycle with ECYCLE naming it', () => {
    expect(() =>
      planLevels([
        { name: 'a', deps: ['b'] },
        { name: 'b', deps: ['c'] },
        { name: 'c', deps: ['a'] },
        { name: 'd', deps: [] },
      ]),
    ).toThrow(expect.objectContaining({ code: 'ECYCLE', message: expect.stringContaining('a → b → c → a') }));
  });

  it('names each edge of the cycle with the field and spec that make it, and says how to break it (not "peerDependencies", which count)', () => {
    let error: any;
    try {
      planLevels([
        { name: '@s/a', deps: ['@s/b'], edges: { '@s/b': 'dependencies["@s/b"] is "workspace:*"' } },
        { name: '@s/b', deps: ['@s/a'], edges: { '@s/a': 'peerDependencies["@s/a"] is "workspace:^"' } },
        { name: '@s/leaf', deps: ['@s/a'] },
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ECYCLE' });
    expect(error.message).toContain('@s/a → @s/b → @s/a');
    expect(error.message).toContain('@s/a → @s/b: dependencies["@s/b"] is "workspace:*"');
    expect(error.message).toContain('@s/b → @s/a: peerDependencies["@s/a"] is "workspace:^"');
    // The packages merely waiting on the cycle are not part of it.
    expect(error.message).not.toContain('@s/leaf');
    expect(error.hint).toMatch(/devDependencies do not count/);
    expect(error.hint).toMatch(/move it to devDependencies/);
    expect(error.hint).not.toMatch(/move one side to peerDependencies/);
  });
});
