/**
 * Cached generate targets with the real nx, continued (generate-cache.spec.ts
 * has the restores under a reader; a file of its own so jest runs the two
 * side by side): no cache entry mixes two runs, and a remote cache hit on
 * another clone keeps G4.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ReaderTally, findLeftovers, startReader } from '../../../tools/scripts/sample-workspace';
import { snapshotDir } from '../../../tools/scripts/workspace';
import { RemoteCacheServer, startRemoteCacheServer } from './utils/remote-cache-server';
import { TempWorkspace, expectSuccess } from './utils/temp-workspace';
import { COUNT, SETUP_MS, expectCleanTally, oneGeneration, outDirOf, stashWorkspace } from './utils/stash-workspace';

// Dozens of nx invocations per test on a busy 2-core machine.
jest.setTimeout(600_000);

/** What each entry of the workspace's Nx cache holds in `stash`: its hash, files and index (entries without the stash left out). */
function cacheEntries(ws: TempWorkspace, stash: string): Array<{ hash: string; tree: Record<string, Buffer>; index: { taskHash?: string; files: Array<{ path: string }> } | undefined }> {
  const cacheDir = ws.path('.nx', 'cache');
  const out = [];
  for (const hash of fs.readdirSync(cacheDir)) {
    const dir = path.join(cacheDir, hash, stash);
    if (!fs.existsSync(dir)) continue;
    const tree = snapshotDir(dir);
    const indexFile = tree['.lockstep-stash.json'];
    delete tree['.lockstep-stash.json'];
    out.push({ hash, tree, index: indexFile ? JSON.parse(indexFile.toString('utf8')) : undefined });
  }
  return out;
}

describe('concurrent invocations with different inputs', () => {
  let ws: TempWorkspace;
  beforeAll(async () => {
    ws = await stashWorkspace('stash-entries', 1);
  }, SETUP_MS);
  afterAll(() => ws?.remove());

  const ROUNDS = Number(process.env.LOCKSTEP_E2E_ENTRY_ROUNDS ?? 20);

  it(`${ROUNDS} rounds of three nx invocations at once (two new generations and a cache hit of an older one restoring the stash): every cache entry holds exactly the files of its own inputs`, async () => {
    const stampOf = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      const stamps = [`r${round}-a`, `r${round}-b`, round > 0 ? `r${round - 1}-a` : 'r0-a'];
      const runs = await Promise.all(stamps.map((stamp) => ws.nx(['run', 'app0:generate', '--output-style=static'], { env: { GEN_STAMP: stamp } })));
      runs.forEach((run, i) => expectSuccess(run, `nx run app0:generate (round ${round}, GEN_STAMP=${stamps[i]})`));
      // outDir is one whole generation: one of the three, whichever synced last.
      expect(stamps).toContain(oneGeneration(ws.snapshot(outDirOf(0)), `outDir after round ${round}`));
    }
    const entries = cacheEntries(ws, 'dist/gen/.app0.lockstep-stash');
    // Two new generations per round, each stored once under its own hash.
    expect(entries).toHaveLength(2 * ROUNDS);
    for (const entry of entries) {
      const stamp = oneGeneration(entry.tree, `the cache entry ${entry.hash}`);
      // The entry describes itself: the hash it was generated for, and exactly its files.
      expect(entry.index?.taskHash).toBe(entry.hash);
      expect(entry.index!.files.map((f) => f.path).sort()).toEqual(Object.keys(entry.tree).sort());
      expect(stampOf.has(stamp)).toBe(false);
      stampOf.set(stamp, entry.hash);
    }
    expect([...stampOf.keys()].sort()).toEqual(Array.from({ length: ROUNDS }, (_, r) => [`r${r}-a`, `r${r}-b`]).flat().sort());
  });
});

describe("Nx's self-hosted remote cache (NX_SELF_HOSTED_REMOTE_CACHE_SERVER)", () => {
  let server: RemoteCacheServer;
  let a: TempWorkspace;
  let b: TempWorkspace;
  beforeAll(async () => {
    server = await startRemoteCacheServer();
    // Two clones of one repository, each with its own Nx cache directory (.nx/cache in the clone).
    [a, b] = await Promise.all([stashWorkspace('remote-a', 1), stashWorkspace('remote-b', 1)]);
  }, SETUP_MS);
  afterAll(async () => {
    a?.remove();
    b?.remove();
    await server?.close();
  });

  const ROUNDS = Number(process.env.LOCKSTEP_E2E_REMOTE_ROUNDS ?? 5);

  it(`clone A generates ${ROUNDS} generations and uploads them; on clone B each is a remote hit, and B's outDir is brought up to date while a reader checks every file: 0 torn, 0 empty, 0 missing`, async () => {
    const stamps = Array.from({ length: ROUNDS }, (_, i) => `remote-${i}`);
    for (const stamp of stamps) {
      const run = await a.nx(['run', 'app0:generate', '--output-style=static'], { env: { ...server.env(), GEN_STAMP: stamp } });
      expectSuccess(run, `clone A: nx run app0:generate (GEN_STAMP=${stamp})`);
      expect(run.output).toMatch(/\[lockstep\] dist\/gen\/app0: generated into the stash/);
    }
    // One upload per generation: the stash task's entry (hold and sync are not cached).
    expect(server.log.filter((line) => /^PUT \S+ 200$/.test(line))).toHaveLength(ROUNDS);

    // B has a generation of its own in outDir before the reader starts.
    expectSuccess(await b.nx(['run', 'app0:generate'], { env: { GEN_STAMP: 'local-b' } }), 'clone B: a local generation');
    const reader = await startReader(b.path(outDirOf(0)), COUNT, b.scratch('reader.json'));
    let tally: ReaderTally;
    try {
      for (const stamp of stamps) {
        const run = await b.nx(['run', 'app0:generate', '--output-style=static'], { env: { ...server.env(), GEN_STAMP: stamp } });
        expectSuccess(run, `clone B: nx run app0:generate (GEN_STAMP=${stamp})`);
        expect(run.output).toMatch(/> nx run app0:generate--stash\s+\[remote cache\]/);
        expect(run.output).toMatch(new RegExp(`\\[lockstep\\] ${outDirOf(0)}: ${COUNT} files from the stash .*, ${COUNT} written`));
        expect(oneGeneration(b.snapshot(outDirOf(0)), `clone B's outDir after the remote hit of ${stamp}`)).toBe(stamp);
      }
    } finally {
      tally = await reader.stop();
    }
    expectCleanTally(tally);
    expect(tally.stamps.sort()).toEqual(['local-b', ...stamps].sort());
    // B only read (its local-b run had no server): A's lookups missed, B's hit; nothing else was uploaded.
    expect(server.log.filter((line) => /^GET \S+ 200$/.test(line))).toHaveLength(ROUNDS);
    expect(server.log.filter((line) => line.startsWith('PUT'))).toHaveLength(ROUNDS);
    expect(findLeftovers(b.path('dist'))).toEqual([]);
  });
});
