import { planLevels } from './plan-levels';
import { runScheduled } from './run-scheduled';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runScheduled', () => {
  const plan = () =>
    planLevels([
      { name: 'base', deps: [] },
      { name: 'slow-leaf', deps: [] },
      { name: 'mid', deps: ['base'] },
      { name: 'top', deps: ['mid', 'slow-leaf'] },
      { name: 'side', deps: ['base'] },
    ]);

  it('starts a package as soon as its own dependencies are done, never before, with no level barrier', async () => {
    const events: string[] = [];
    const done = new Set<string>();
    const p = plan();
    await runScheduled(
      p,
      async (name) => {
        for (const dep of p.deps.get(name)!) expect(done.has(dep)).toBe(true);
        events.push(`start ${name}`);
        await tick(name === 'slow-leaf' ? 60 : 5);
        done.add(name);
        events.push(`end ${name}`);
        return true;
      },
      { concurrency: 4 },
    );
    // mid (level 1) starts while slow-leaf (level 0) still runs.
    expect(events.indexOf('start mid')).toBeLessThan(events.indexOf('end slow-leaf'));
    expect(done.size).toBe(5);
  });

  it('never runs more than `concurrency` at once', async () => {
    let running = 0;
    let peak = 0;
    const p = planLevels(Array.from({ length: 12 }, (_, i) => ({ name: `p${i}`, deps: [] })));
    await runScheduled(
      p,
      async () => {
        peak = Math.max(peak, ++running);
        await tick(5);
        running--;
        return true;
      },
      { concurrency: 3 },
    );
    expect(peak).toBe(3);
  });

  it('blocks the transitive dependents of a failure and lets independent branches go on', async () => {
    const blocked: string[] = [];
    const result = await runScheduled(plan(), async (name) => name !== 'mid', { concurrency: 2, onBlocked: (n) => blocked.push(n) });
    expect(Object.fromEntries(result.outcomes)).toEqual({ base: 'done', 'slow-leaf': 'done', mid: 'failed', top: 'blocked', side: 'done' });
    expect(result.blockedBy.get('top')).toBe('mid');
    expect(blocked).toEqual(['top']);
  });

  it('treats a throwing task as failed', async () => {
    const result = await runScheduled(plan(), async (name) => {
      if (name === 'base') throw new Error('boom');
      return true;
    }, { concurrency: 2 });
    expect(result.outcomes.get('base')).toBe('failed');
    expect(result.outcomes.get('mid')).toBe('blocked');
  });

  it('starts nothing new once asked to stop, and reports what did not start', async () => {
    let stop = false;
    const result = await runScheduled(
      plan(),
      async (name) => {
        if (name === 'base') stop = true;
        return true;
      },
      { concurrency: 1, shouldStop: () => stop },
    );
    expect(result.outcomes.get('base')).toBe('done');
    expect(result.outcomes.get('mid')).toBe('not-started');
  });
});

describe('runScheduled with settle (slot given back before a node is done)', () => {
  it('lets the next node use the slot while one settles, and starts dependents only after it settled', async () => {
    const events: string[] = [];
    const p = planLevels([
      { name: 'a', deps: [] },
      { name: 'b', deps: [] },
      { name: 'c', deps: ['a'] },
    ]);
    await runScheduled(
      p,
      async (name) => {
        events.push(`slot ${name}`);
        await tick(5);
        return {
          settle: (async () => {
            await tick(40);
            events.push(`settled ${name}`);
            return true;
          })(),
        };
      },
      { concurrency: 1 },
    );
    expect(events.indexOf('slot b')).toBeLessThan(events.indexOf('settled a'));
    expect(events.indexOf('slot c')).toBeGreaterThan(events.indexOf('settled a'));
    expect(events.filter((e) => e.startsWith('settled'))).toHaveLength(3);
  });

  it('treats a rejected settle as a failure that blocks dependents', async () => {
    const p = planLevels([
      { name: 'a', deps: [] },
      { name: 'c', deps: ['a'] },
    ]);
    const result = await runScheduled(p, async () => ({ settle: Promise.reject(new Error('verify timeout')) }), { concurrency: 2 });
    expect(Object.fromEntries(result.outcomes)).toEqual({ a: 'failed', c: 'blocked' });
  });
});
