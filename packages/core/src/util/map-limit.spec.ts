import { mapLimit } from './map-limit';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and returns the results in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 25 }, (_, i) => i);
    const results = await mapLimit(items, 4, async (n, index) => {
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < (n % 3) + 1; i++) await tick();
      inFlight--;
      return n * 10 + index;
    });
    expect(most).toBe(4);
    expect(results).toEqual(items.map((n) => n * 11));
  });

  it('rejects with the first error once the calls already started have settled, and starts no other', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error(`boom ${n}`);
      await tick();
      settled.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('boom 1');
    expect(started).toEqual([0, 1]);
    expect(settled).toEqual([0]);
  });

  it('an empty list and a limit below 1 still work', async () => {
    expect(await mapLimit([], 3, async () => 1)).toEqual([]);
    expect(await mapLimit([1, 2], 0, async (n) => n + 1)).toEqual([2, 3]);
  });
});
