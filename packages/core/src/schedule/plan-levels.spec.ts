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

  it('ECYCLE is the default of the function, and what cycles: "error" asks for; its hint names cycles: "allow"', () => {
    const nodes = [
      { name: 'a', deps: ['b'] },
      { name: 'b', deps: ['a'] },
    ];
    expect(() => planLevels(nodes, { cycles: 'error' })).toThrow(expect.objectContaining({ code: 'ECYCLE', hint: expect.stringContaining('cycles: "allow"') }));
  });

  describe('cycles: "allow": each strongly connected component is planned as one node', () => {
    // base ← a ⇄ b ← app; c → d → e → c (a cycle of three) ← a; leaf alone.
    const nodes = [
      { name: 'base', deps: [] },
      { name: 'a', deps: ['b', 'base', 'c'] },
      { name: 'b', deps: ['a'] },
      { name: 'app', deps: ['b'] },
      { name: 'c', deps: ['d'] },
      { name: 'd', deps: ['e'] },
      { name: 'e', deps: ['c'] },
      { name: 'leaf', deps: [] },
    ];

    it('lists every cycle once, its members sorted', () => {
      expect(planLevels(nodes, { cycles: 'allow' }).cycles).toEqual([
        ['a', 'b'],
        ['c', 'd', 'e'],
      ]);
      expect(planLevels([{ name: 'x', deps: [] }], { cycles: 'allow' }).cycles).toEqual([]);
    });

    it('members of a cycle wait for nothing inside it and for everything outside it that any member depends on, widened to whole cycles; they share a level', () => {
      const plan = planLevels(nodes, { cycles: 'allow' });
      // a depends on b (same cycle: no wait), base, and c (whose whole cycle it waits for); b, through a, on the same.
      expect(plan.deps.get('a')).toEqual(['base', 'c', 'd', 'e']);
      expect(plan.deps.get('b')).toEqual(['base', 'c', 'd', 'e']);
      expect(plan.deps.get('c')).toEqual([]);
      expect(plan.deps.get('e')).toEqual([]);
      expect(plan.levels.get('a')).toBe(plan.levels.get('b'));
      expect(plan.levels.get('c')).toBe(plan.levels.get('d'));
      expect(plan.levels.get('d')).toBe(plan.levels.get('e'));
    });

    it('a package depending on one member of a cycle waits for every member', () => {
      const plan = planLevels(nodes, { cycles: 'allow' });
      expect(plan.deps.get('app')).toEqual(['a', 'b']);
      expect(plan.dependents.get('a')).toEqual(['app']);
      expect(plan.dependents.get('b')).toEqual(['app']);
      expect(plan.levels.get('app')!).toBeGreaterThan(plan.levels.get('a')!);
      expect(plan.byLevel).toEqual([['base', 'c', 'd', 'e', 'leaf'], ['a', 'b'], ['app']]);
    });

    it('what it waits for is acyclic, so a plan built from it (a task sub-plan) needs no cycle handling', () => {
      const plan = planLevels(nodes, { cycles: 'allow' });
      const again = planLevels([...plan.deps].map(([name, deps]) => ({ name, deps })));
      expect(again.cycles).toEqual([]);
      expect(again.deps).toEqual(plan.deps);
    });

    it('a long chain and a big cycle are planned without deep recursion', () => {
      const chain = Array.from({ length: 20_000 }, (_, i) => ({ name: `n${i}`, deps: i === 0 ? ['n19999'] : [`n${i - 1}`] }));
      const plan = planLevels(chain, { cycles: 'allow' });
      expect(plan.cycles).toHaveLength(1);
      expect(plan.cycles[0]).toHaveLength(20_000);
      expect(plan.byLevel).toHaveLength(1);
    });
  });
});
