import { planLevels } from './plan-levels';
import { runScheduled } from './run-scheduled';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runScheduled: a node may give its slot back while it waits', () => {
  const flat = (n: number) => planLevels(Array.from({ length: n }, (_, i) => ({ name: `p${i}`, deps: [] })));

  it('a released slot starts the next node; the returning holder goes ahead of nodes not started; holders never exceed concurrency', async () => {
    const events: string[] = [];
    let holding = 0;
    let peak = 0;
    await runScheduled(
      flat(4),
      async (name, slot) => {
        peak = Math.max(peak, ++holding);
        events.push(`start ${name}`);
        if (name === 'p0') {
          holding--;
          slot.release();
          // Asks for it back while p1 holds it (p1 runs 20 ms), with p2 and p3 still waiting to start.
          await tick(5);
          await slot.acquire();
          peak = Math.max(peak, ++holding);
          events.push('p0 back');
        } else {
          await tick(20);
        }
        holding--;
        events.push(`end ${name}`);
        return true;
      },
      { concurrency: 1 },
    );
    expect(peak).toBe(1);
    // p1 ran while p0 waited; p0 came back before p2 and p3 started.
    expect(events.slice(0, 5)).toEqual(['start p0', 'start p1', 'end p1', 'p0 back', 'end p0']);
    expect(events.slice(5)).toEqual(['start p2', 'end p2', 'start p3', 'end p3']);
  });

  it('a slot taken back after its node ended (an aborted wait) is returned at once: the run still finishes, never above concurrency (20 rounds)', async () => {
    for (let round = 0; round < 20; round++) {
      let holding = 0;
      let peak = 0;
      const late: Array<Promise<void>> = [];
      const result = await runScheduled(
        flat(6),
        async (name, slot) => {
          peak = Math.max(peak, ++holding);
          await tick(1 + (round % 3));
          holding--;
          if (name === 'p1') {
            slot.release();
            // The wait "ends" after the node has already failed: its acquire resolves later and must not keep the slot.
            late.push(tick(5).then(() => slot.acquire()));
            return false;
          }
          return true;
        },
        { concurrency: 2 },
      );
      await Promise.all(late);
      expect(peak).toBeLessThanOrEqual(2);
      expect([...result.outcomes.values()].filter((o) => o === 'done')).toHaveLength(5);
    }
  });
});

describe('runScheduled: lent slots are bounded', () => {
  const flat = (n: number) => planLevels(Array.from({ length: n }, (_, i) => ({ name: `p${i}`, deps: [] })));

  it('nodes that all give their slot back while they wait never make more than twice the concurrency active (a 429 storm), and every node finishes', async () => {
    let active = 0;
    let peakActive = 0;
    let holding = 0;
    let peakHolding = 0;
    const result = await runScheduled(
      flat(40),
      async (_name, slot) => {
        peakActive = Math.max(peakActive, ++active);
        peakHolding = Math.max(peakHolding, ++holding);
        // Every node waits (a Retry-After) and offers its slot meanwhile.
        holding--;
        slot.release();
        await tick(5);
        await slot.acquire();
        peakHolding = Math.max(peakHolding, ++holding);
        await tick(1);
        holding--;
        active--;
        return true;
      },
      { concurrency: 3 },
    );
    expect([...result.outcomes.values()].every((o) => o === 'done')).toBe(true);
    expect(peakActive).toBe(6);
    expect(peakHolding).toBeLessThanOrEqual(6);
  });

  it('two overlapping take-backs of one lent slot take one slot: the run does not hang and stays within concurrency', async () => {
    let holding = 0;
    let peak = 0;
    const result = await runScheduled(
      flat(3),
      async (name, slot) => {
        peak = Math.max(peak, ++holding);
        if (name === 'p0') {
          holding--;
          slot.release();
          await tick(2);
          await Promise.all([slot.acquire(), slot.acquire()]);
          peak = Math.max(peak, ++holding);
        }
        await tick(2);
        holding--;
        return true;
      },
      { concurrency: 1 },
    );
    expect([...result.outcomes.values()]).toEqual(['done', 'done', 'done']);
    expect(peak).toBe(1);
  });
});
