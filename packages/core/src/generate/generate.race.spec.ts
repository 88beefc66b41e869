import { spawn } from 'child_process';
import { mkdirSync, readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { assertFreshDist } from '../test-utils/fresh-dist';
import { Worker } from '../test-utils/workers';
import type { GenerateWorker, ReaderWorker } from '../test-utils/worker-protocol';
import { useTempDir } from '../test-utils/temp-dir';
import { waitFor } from '../test-utils/wait-for';
import { sleep } from '../util/sleep';

// Real generate processes and real readers on one outDir. Fixtures load
// packages/core/dist (built by `npm test` before jest runs).
const FIXTURES = path.join(__dirname, '__fixtures__');
const GENERATOR = path.join(FIXTURES, 'generate-worker.js');
const READER = path.join(FIXTURES, 'reader.js');

// The processes it starts load packages/core/dist: a stale build fails here, not silently.
beforeAll(() => assertFreshDist());
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { generationFiles, check } = require('./__fixtures__/content');

function listAll(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const child = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? listAll(dir, child) : [child];
  });
}

/** The generation outDir holds, after checking that every file is whole and of that one generation. */
function assertWholeGeneration(outDir: string, scale = 1): string {
  const files = listAll(outDir).sort();
  const first = check(readFileSync(path.join(outDir, 'f00.txt'), 'utf8'), 'f00.txt');
  expect(first.ok).toBe(true);
  const expected = generationFiles(first.generation, scale);
  expect(files).toEqual(Object.keys(expected).sort());
  for (const file of files) expect(readFileSync(path.join(outDir, file), 'utf8')).toBe(expected[file]);
  return first.generation;
}

function leftovers(root: string): string[] {
  return listAll(root).filter((f) => f.includes('.lstmp-') || f.includes('.lockstep-stage-'));
}

describe('generate under real process races', () => {
  const tmp = useTempDir();

  function setup() {
    const root = path.join(tmp(), 'ws');
    const outDir = path.join(root, 'dist', 'gen');
    const lockDir = path.join(tmp(), 'locks');
    mkdirSync(outDir, { recursive: true });
    mkdirSync(lockDir, { mode: 0o700 });
    return { root, outDir, lockDir };
  }

  it('5 generate processes racing on one outDir while 2 readers read every file: nothing torn, empty or missing (50 rounds)', async () => {
    const { root, outDir, lockDir } = setup();
    const generators = Array.from({ length: 5 }, () => new Worker<GenerateWorker>(GENERATOR));
    await generators[0].request({ op: 'generate', outDir, lockDir, workspaceRoot: root, generation: 'g-initial' });
    const readers = [new Worker<ReaderWorker>(READER, [outDir]), new Worker<ReaderWorker>(READER, [outDir])];
    await Promise.all(readers.map((r) => r.whenReady()));
    try {
      for (let round = 0; round < 50; round++) {
        const results = await Promise.all(
          generators.map((g, id) => g.request({ op: 'generate', outDir, lockDir, workspaceRoot: root, generation: `r${round}-w${id}${'x'.repeat(id % 2)}` })),
        );
        expect(results.filter((r) => !r.ok)).toEqual([]);
        const winner = assertWholeGeneration(outDir);
        expect(winner).toMatch(new RegExp(`^r${round}-w`));
        expect(leftovers(root)).toEqual([]);
      }
      const reports = await Promise.all(readers.map((r) => r.request({ op: 'stop' })));
      for (const report of reports) {
        expect({ torn: report.torn, empty: report.empty, missing: report.missing, samples: report.samples }).toEqual({
          torn: 0,
          empty: 0,
          missing: 0,
          samples: [],
        });
        expect(report.reads).toBeGreaterThan(1000);
      }
    } finally {
      await Promise.all([...generators, ...readers].map((w) => w.stop()));
    }
    // ~50 s on a loaded 2-core machine (the two readers alone keep both cores busy)
  }, 300_000);

  it('a SIGKILLed holder at a random point: the next run takes the lock over through the pid probe and the output is whole (50 rounds)', async () => {
    const { root, outDir, lockDir } = setup();
    const next = new Worker<GenerateWorker>(GENERATOR);
    await next.request({ op: 'generate', outDir, lockDir, workspaceRoot: root, generation: 'k-initial', scale: 4 });
    const reader = new Worker<ReaderWorker>(READER, [outDir]);
    await reader.whenReady();
    let killedWhileLocked = 0;
    try {
      for (let round = 0; round < 50; round++) {
        const victim = spawn(process.execPath, [GENERATOR, outDir, lockDir, `kill-${round}`, '4', '--announce', '--root', root], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let locked = false;
        let out = '';
        victim.stdout!.on('data', (d) => (locked ||= (out += d).includes('locked')));
        const exited = new Promise((r) => victim.on('exit', r));
        if (round % 2 === 0) {
          // Somewhere from start-up to the end of the commit.
          await sleep(Math.random() * 200);
        } else {
          // Inside the critical section: while generating or committing.
          await waitFor(() => locked || victim.exitCode !== null, {
            timeoutMs: 60_000,
            intervalMs: 2,
            what: () => `the victim of round ${round} to take the lock; its output: ${out}`,
          });
          await sleep(Math.random() * 30);
        }
        if (locked) killedWhileLocked++;
        victim.kill('SIGKILL');
        await exited;
        // The dead holder's lock is only stale after 30 s and the re-run gives up after 20 s: only the pid probe explains success.
        const rerun = await next.request({ op: 'generate', outDir, lockDir, workspaceRoot: root, generation: `after-${round}`, scale: 4, lockTimeoutMs: 20_000 });
        expect(rerun).toMatchObject({ ok: true });
        expect(assertWholeGeneration(outDir, 4)).toBe(`after-${round}`);
        expect(leftovers(root)).toEqual([]);
      }
      const report = await reader.request({ op: 'stop' });
      expect({ torn: report.torn, empty: report.empty, missing: report.missing, samples: report.samples }).toEqual({
        torn: 0,
        empty: 0,
        missing: 0,
        samples: [],
      });
      expect(killedWhileLocked).toBeGreaterThanOrEqual(20);
    } finally {
      await Promise.all([next.stop(), reader.stop()]);
    }
  }, 180_000);
});
