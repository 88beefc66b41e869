/**
 * Cached generate targets with the real nx: Nx caches a stash beside outDir
 * (the inferred `<target>--stash`), and `<target>` brings outDir up to date
 * from it under outDir's lock, on cache hits too. Readers of outDir never see
 * a torn, empty or missing file while Nx restores, and no cache entry mixes
 * two runs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { check, generation } from '../../../tools/scripts/fixtures/selfcheck';
import { ReaderTally, findLeftovers, fixtureFiles, generatorModule, startReader } from '../../../tools/scripts/sample-workspace';
import { snapshotDir } from '../../../tools/scripts/workspace';
import { RemoteCacheServer, startRemoteCacheServer } from './utils/remote-cache-server';
import { TempWorkspace, createTempWorkspace, expectSuccess } from './utils/temp-workspace';

// Dozens of nx invocations per test on a busy 2-core machine.
jest.setTimeout(600_000);

const GENERATE = '@lockstep/nx:generate';
const COUNT = 200;
/** Projects per workspace: one nx invocation restores this many outDirs (nx start-up is most of an invocation's time). */
const PROJECTS = 5;
const SETUP_MS = 60_000;
const outDirOf = (i: number) => `dist/gen/app${i}`;
const projects = () => Array.from({ length: PROJECTS }, (_, i) => i);

/**
 * A workspace with the plugin registered and PROJECTS hand-written generate
 * targets with "stash": true (the one option), whose generation is a function
 * of GEN_STAMP (as it would be of a schema file).
 */
async function stashWorkspace(name: string, projectCount = PROJECTS): Promise<TempWorkspace> {
  const files: Record<string, unknown> = {
    // The same root package.json in every workspace (createWorkspace would name it after the directory): clones hash alike.
    'package.json': { name: 'stash-clone', version: '0.0.0', private: true },
    'nx.json': { plugins: ['@lockstep/nx/plugin'] },
    ...fixtureFiles(),
    'tools/gen.js': generatorModule('tools/gen.js', { count: COUNT }),
  };
  for (let i = 0; i < projectCount; i++) {
    files[`apps/app${i}/project.json`] = {
      name: `app${i}`,
      root: `apps/app${i}`,
      targets: {
        generate: { executor: GENERATE, inputs: ['default', { env: 'GEN_STAMP' }], options: { outDir: outDirOf(i), generator: 'tools/gen.js', stash: true } },
      },
    };
  }
  return createTempWorkspace(name, files as Parameters<typeof createTempWorkspace>[1]);
}

/** Every file of `tree` whole and of one generation of COUNT files; returns its stamp. */
function oneGeneration(tree: Record<string, Buffer>, what: string): string {
  const stamps = new Set<string>();
  const problems: string[] = [];
  for (const [rel, data] of Object.entries(tree)) {
    const result = check(rel, data);
    if (result.ok) stamps.add(result.stamp);
    else problems.push(`${rel}: ${result.kind}`);
  }
  if (problems.length > 0 || stamps.size !== 1) throw new Error(`${what}: not one whole generation (stamps ${[...stamps].join(', ')}; ${problems.slice(0, 5).join(', ')})`);
  const [stamp] = [...stamps];
  const expected = generation(COUNT, stamp);
  const keys = Object.keys(tree).sort();
  if (keys.join('\n') !== Object.keys(expected).sort().join('\n')) throw new Error(`${what}: the files are not exactly the ${COUNT} of generation ${stamp}`);
  return stamp;
}

function expectCleanTally(tally: ReaderTally): void {
  console.log(
    `[nx-e2e] reader: ${tally.reads} reads in ${tally.sweeps} sweeps over ${tally.durationMs} ms, generations seen: ${tally.stamps.join(', ')}; ` +
      `missing: ${tally.missing}, empty: ${tally.empty}, torn: ${tally.torn}, errors: ${tally.errors}`,
  );
  expect({ missing: tally.missing, empty: tally.empty, torn: tally.torn, errors: tally.errors, samples: tally.samples }).toEqual({ missing: 0, empty: 0, torn: 0, errors: 0, samples: [] });
}

/**
 * `rounds` invocations of `nx run-many -t generate`, GEN_STAMP alternating
 * gen-a and gen-b: once both generations are cached, every invocation is a
 * cache hit per project that rewrites all of its files. Checks every outDir
 * after each; returns the stash cache hits counted in Nx's output.
 */
async function alternate(ws: TempWorkspace, rounds: number, env: Record<string, string> = {}): Promise<{ hits: number }> {
  let hits = 0;
  for (let round = 0; round < rounds; round++) {
    const stamp = round % 2 === 0 ? 'gen-a' : 'gen-b';
    const result = await ws.nx(['run-many', '-t', 'generate', '--output-style=static'], { env: { ...env, GEN_STAMP: stamp } });
    expectSuccess(result, `nx run-many -t generate (round ${round}, GEN_STAMP=${stamp})`);
    if (process.env.LOCKSTEP_E2E_DEBUG === '1') console.log(result.output);
    hits += (result.output.match(/nx run app\d+:generate--stash\s+\[(local|remote) cache\]/g) ?? []).length;
    for (const i of projects()) {
      expect(result.output).toMatch(new RegExp(`\\[lockstep\\] ${outDirOf(i)}: ${COUNT} files from the stash`));
      expect(oneGeneration(ws.snapshot(outDirOf(i)), `${outDirOf(i)} after round ${round}`)).toBe(stamp);
    }
  }
  return { hits };
}

/** One reader process sweeping every outDir in turn (a busy reader per outDir would starve nx on 2 cores). */
function startReaders(ws: TempWorkspace) {
  return startReader(projects().map((i) => ws.path(outDirOf(i))).join(path.delimiter), COUNT, ws.scratch('reader.json'));
}

describe('a generate target with "stash" (the @lockstep/nx plugin infers its hold and stash targets)', () => {
  let ws: TempWorkspace;
  beforeAll(async () => {
    ws = await stashWorkspace('stash-restores');
  }, SETUP_MS);
  afterAll(() => ws?.remove());

  const ROUNDS = Number(process.env.LOCKSTEP_E2E_RESTORE_ROUNDS ?? 10);

  it(`without the daemon: ${ROUNDS} × ${PROJECTS} cache hits, each rewriting all ${COUNT} files of an outDir, while a reader sweeps every outDir: 0 torn, 0 empty, 0 missing`, async () => {
    // The first two invocations generate; from then on every one is a cache hit of the other generation.
    expect((await alternate(ws, 2)).hits).toBe(0);
    const reader = await startReaders(ws);
    let tally: ReaderTally;
    let hits: number;
    try {
      ({ hits } = await alternate(ws, ROUNDS));
    } finally {
      tally = await reader.stop();
    }
    expect(hits).toBe(ROUNDS * PROJECTS);
    expectCleanTally(tally);
    expect(tally.stamps.sort()).toEqual(['gen-a', 'gen-b']);
    expect(findLeftovers(ws.path('dist'))).toEqual([]);
  });

  it(`with the daemon: ${ROUNDS} × ${PROJECTS} cache hits (the inputs alternate, so the stash on disk differs and Nx restores it), a reader sweeping every outDir: 0 torn, 0 empty, 0 missing`, async () => {
    // NX_DAEMON=true starts it even in a container; NX_DAEMON_SOCKET_DIR keeps it to this workspace.
    const env = { NX_DAEMON: 'true', NX_DAEMON_SOCKET_DIR: ws.scratch('daemon') };
    fs.mkdirSync(env.NX_DAEMON_SOCKET_DIR, { recursive: true });
    try {
      await alternate(ws, 2, env);
      const reader = await startReaders(ws);
      let tally: ReaderTally;
      let hits: number;
      try {
        ({ hits } = await alternate(ws, ROUNDS, env));
      } finally {
        tally = await reader.stop();
      }
      expect(hits).toBe(ROUNDS * PROJECTS);
      expectCleanTally(tally);
      expect(tally.stamps.sort()).toEqual(['gen-a', 'gen-b']);
      expect(findLeftovers(ws.path('dist'))).toEqual([]);
      // The daemon really ran these invocations.
      expect((await ws.nx(['daemon'], { env })).output).toContain('Nx Daemon is currently running');
    } finally {
      await ws.nx(['daemon', '--stop'], { env });
    }
  });
});

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
