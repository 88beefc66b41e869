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
});
