import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { Worker } from '../test-utils/workers';
import type { JournalWorker } from '../test-utils/worker-protocol';
import { isJournalTemp, recordFileName } from './journal-files';
import { openJournal } from './open-journal';
import { readJournal } from './read-journal';
import { PackageRecord } from './records';

// Real processes on real files. The worker loads packages/core/dist: run `npx tsc -b packages/core` first.
const WORKER = path.join(__dirname, '__fixtures__', 'journal-worker.js');
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses every file in the journal with plain JSON.parse: a torn file would throw here. */
function parseEveryFile(dir: string): { files: number; temps: string[] } {
  let files = 0;
  const temps: string[] = [];
  for (const folder of [dir, path.join(dir, 'packages')]) {
    let entries: string[] = [];
    try {
      entries = readdirSync(folder);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (isJournalTemp(entry)) temps.push(entry);
      else if (entry.endsWith('.json')) {
        JSON.parse(readFileSync(path.join(folder, entry), 'utf8'));
        files++;
      }
    }
  }
  return { files, temps };
}

describe('journal under real process races', () => {
  const tmp = useTempDir('lockstep-journal-race-');

  it('6 task processes of one run opening at once: set-up happens once, every record intact (7 rounds: create, join, resume, replace, refuse, fresh)', async () => {
    const dir = path.join(tmp(), 'journal');
    const packages = Array.from({ length: 6 }, (_, i) => ({ name: i % 2 ? `@scope/pkg-${i}` : `pkg-${i}`, version: `1.0.${i}` }));
    const workers = Array.from({ length: 6 }, () => new Worker<JournalWorker>(WORKER));
    await Promise.all(workers.map((w) => w.whenReady()));
    const all = (msg: { op: 'publish'; runId: string; sha: string; resume?: 'auto' | 'fresh'; steps?: number }) =>
      Promise.all(workers.map((w, i) => w.request({ dir, packages, own: packages[i].name, ...msg })));
    const onDisk = (): PackageRecord[] => packages.map((p) => JSON.parse(readFileSync(path.join(dir, 'packages', recordFileName(p.name)), 'utf8')));
    const expectOneSetUp = (results: any[], mode: string) => {
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.filter((r) => r.mode === mode)).toHaveLength(1);
      expect(results.filter((r) => r.mode === 'joined')).toHaveLength(5);
    };
    const expectTidy = (runId: string) => {
      expect(readdirSync(dir).sort()).toEqual(['.lock', 'packages', 'run.json']);
      expect(readdirSync(path.join(dir, 'packages')).sort()).toEqual(packages.map((p) => recordFileName(p.name)).sort());
      expect(JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8'))).toMatchObject({ runId, status: 'running', packages });
      expect(parseEveryFile(dir).temps).toEqual([]);
    };
    try {
      for (let lap = 0; lap < 3; lap++) {
        // 1. Nothing there: one process creates the run, five join it; each publishes its own package.
        let results = await all({ op: 'publish', runId: `r${lap}-1`, sha: SHA_A });
        expectOneSetUp(results, 'created');
        expectTidy(`r${lap}-1`);
        expect(onDisk().map((r) => [r.status, r.attempts])).toEqual(packages.map(() => ['published', 1]));

        // 2. The run is left unfinished; the next invocation at the same commit resumes it once. Published stays published.
        results = await all({ op: 'publish', runId: `r${lap}-2`, sha: SHA_A });
        expectOneSetUp(results, 'resumed');
        expect(results.find((r) => r.mode === 'resumed')?.previous).toMatchObject({ runId: `r${lap}-1`, status: 'running' });
        expectTidy(`r${lap}-2`);
        expect(onDisk().map((r) => [r.status, r.attempts])).toEqual(packages.map(() => ['published', 1]));

        // 3. Finished: the next run replaces it once, with fresh records; this time every process stops at 'publishing'.
        expect(await workers[0].request({ op: 'finish', dir, packages, runId: `r${lap}-2`, sha: SHA_A, status: 'done' })).toMatchObject({ ok: true });
        results = await all({ op: 'publish', runId: `r${lap}-3`, sha: SHA_A, steps: 2 });
        expectOneSetUp(results, 'created');
        expectTidy(`r${lap}-3`);
        expect(onDisk().map((r) => [r.status, r.attempts])).toEqual(packages.map(() => ['publishing', 1]));

        // 4. Resumed after that "crash": reset to pending once (not by every process), then published on a second attempt.
        results = await all({ op: 'publish', runId: `r${lap}-4`, sha: SHA_A });
        expectOneSetUp(results, 'resumed');
        expectTidy(`r${lap}-4`);
        expect(onDisk().map((r) => [r.status, r.attempts])).toEqual(packages.map(() => ['published', 2]));

        // 5. Another commit while that run is unfinished: every process is refused, nothing changes.
        const before = onDisk();
        results = await all({ op: 'publish', runId: `r${lap}-5`, sha: SHA_B });
        for (const r of results) expect(r).toMatchObject({ ok: false, code: 'ESTATESHAMISMATCH' });
        expect(onDisk()).toEqual(before);

        // 6. The same with resume: 'fresh' starts over once.
        results = await all({ op: 'publish', runId: `r${lap}-6`, sha: SHA_B, resume: 'fresh' });
        expectOneSetUp(results, 'created');
        expectTidy(`r${lap}-6`);
        expect(onDisk().map((r) => [r.status, r.attempts])).toEqual(packages.map(() => ['published', 1]));
        expect(await workers[1].request({ op: 'finish', dir, packages, runId: `r${lap}-6`, sha: SHA_B, status: 'done' })).toMatchObject({ ok: true });
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 120_000);

  it('SIGKILL at random points while packages move (40 rounds): every file parses, the next open recovers, published survives a resume', async () => {
    const dir = path.join(tmp(), 'journal');
    const packages = Array.from({ length: 12 }, (_, i) => ({ name: `@s/p${i}`, version: '1.0.0' }));
    let kills = 0;
    let leakedTemps = 0;
    const modes = new Map<string, number>();
    for (let round = 0; round < 40; round++) {
      const worker = new Worker<JournalWorker>(WORKER);
      await worker.whenReady();
      // A churning worker never replies; `request` is only the way to send it work.
      void worker.request({ op: 'churn', dir, sha: SHA_A, packages });
      await sleep(5 + Math.random() * 120);
      await worker.stop();
      kills++;

      // Never torn: every file parses whole, and readJournal checks every record.
      const { temps } = parseEveryFile(dir);
      leakedTemps += temps.length;
      const snap = await readJournal(dir);
      const publishedBefore = new Set(snap?.packages.filter((r) => r.status === 'published').map((r) => r.name));

      // The re-run after the crash: opens at once (a dead lock holder is reclaimed), resumes an unfinished run.
      const opened = await openJournal(dir, { runId: `rerun-${round}`, sha: SHA_A, target: 'publish', registry: '', packages, resume: 'auto', lockTimeoutMs: 10_000 });
      modes.set(opened.mode, (modes.get(opened.mode) ?? 0) + 1);
      if (snap?.run.status === 'running' && snap.missing.length === 0) {
        expect(opened.mode).toBe('resumed');
        for (const name of publishedBefore) expect(opened.journal.get(name)!.status).toBe('published');
      } else {
        expect(opened.mode).toBe('created');
      }
      expect(opened.journal.all()).toHaveLength(packages.length);
      expect(parseEveryFile(dir).temps).toEqual([]);
    }
    expect(kills).toBe(40);
    // Shown with --verbose; the split varies from run to run.
    console.log(`journal crash test: ${kills} kills, ${leakedTemps} leaked temp files swept, re-run modes ${JSON.stringify(Object.fromEntries(modes))}`);
  }, 180_000);
});
