/**
 * The generate executor of @lockstep/nx, driven by the real nx binary in temp
 * workspaces that install the packed plugin (see global-setup.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { check, generation } from '../../../tools/scripts/fixtures/selfcheck';
import { ReaderTally, checkCommand, commandScript, findLeftovers, fixtureFiles, generatorModule, startReader } from '../../../tools/scripts/sample-workspace';
import { snapshotDir } from '../../../tools/scripts/workspace';
import { RunResult, TempWorkspace, createTempWorkspace, expectFailure, expectSuccess } from './utils/temp-workspace';

// Every test runs the real nx (a few seconds each when idle, minutes on a busy 2-core machine).
jest.setTimeout(240_000);

const GENERATE = '@lockstep/nx:generate';
/** Hooks that make a workspace (files, a node_modules link, git init). */
const SETUP_MS = 60_000;

function generateTarget(options: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { executor: GENERATE, cache: true, outputs: ['{options.outDir}'], options, ...extra };
}

function projectFile(name: string, root: string, targets: Record<string, unknown>) {
  return { [`${root}/project.json`]: { name, root, targets } };
}

/** Throws unless `actual` has exactly the files and bytes of `expected`. */
function expectSameTree(actual: Record<string, Buffer>, expected: Record<string, Buffer | string>, what: string): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  const differing = Object.keys(expected).filter((rel) => !actual[rel].equals(Buffer.isBuffer(expected[rel]) ? expected[rel] : Buffer.from(expected[rel])));
  if (differing.length > 0) throw new Error(`${what}: ${differing.length} files differ, e.g. ${differing.slice(0, 5).join(', ')}`);
}

/** Asserts that `tree` is exactly one whole generation of `count` files (set of files and bytes) and returns its stamp. */
function expectOneGeneration(tree: Record<string, Buffer>, count: number, what: string): string {
  const stamps = new Set<string>();
  const problems: string[] = [];
  for (const [rel, data] of Object.entries(tree)) {
    const result = check(rel, data);
    if (result.ok) stamps.add(result.stamp);
    else problems.push(`${rel}: ${result.kind} (${result.reason})`);
  }
  expect(problems).toEqual([]);
  expect(stamps.size).toBe(1);
  const [stamp] = [...stamps];
  expectSameTree(tree, generation(count, stamp), what);
  return stamp;
}

const RUN_MANY = ['run-many', '-t', 'lint', 'typecheck', 'build'];

/** What each entry of the workspace's Nx cache holds for `outDir`: file counts per generation stamp. */
function describeCacheEntries(ws: TempWorkspace, outDir: string): string {
  const cacheDir = ws.path('.nx', 'cache');
  const entries: string[] = [];
  for (const hash of fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []) {
    const tree = snapshotDir(path.join(cacheDir, hash, outDir));
    if (Object.keys(tree).length === 0) continue;
    const counts: Record<string, number> = {};
    for (const [rel, data] of Object.entries(tree)) {
      const result = check(rel, data);
      const key = result.ok ? result.stamp : rel.includes('.lstmp-') ? 'temp file' : result.kind;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    entries.push(`${hash}: ${Object.entries(counts).map(([k, n]) => `${n} × ${k}`).join(', ')}`);
  }
  return entries.join('; ') || 'none';
}

describe('a cacheable generate target that lint, typecheck and build depend on', () => {
  const OUT = 'dist/gen/app';
  const COUNT = 200;
  let ws: TempWorkspace;
  /** GEN_STAMP of the generation that landed last (and that the cache test reruns). */
  let lastStamp: string | undefined;

  beforeAll(async () => {
    // The generator's content is a function of the declared input GEN_STAMP,
    // which every target hashes, as a source file would be.
    const inputs = ['default', { env: 'GEN_STAMP' }];
    const consumer = (label: string) => ({
      executor: 'nx:run-commands',
      dependsOn: ['generate'],
      cache: true,
      inputs,
      options: { command: checkCommand(OUT, COUNT, label) },
    });
    ws = await createTempWorkspace('concurrent', {
      ...fixtureFiles(),
      'apps/app/generate.js': generatorModule('apps/app/generate.js', { count: COUNT }),
      ...projectFile('app', 'apps/app', {
        generate: generateTarget({ outDir: OUT, generator: 'apps/app/generate.js' }, { inputs }),
        lint: consumer('lint'),
        typecheck: consumer('typecheck'),
        build: consumer('build'),
      }),
    });
  }, SETUP_MS);

  afterAll(() => ws?.remove());

  it('two concurrent `nx run-many -t lint typecheck build` both succeed while a reader never sees a torn, empty or missing file', async () => {
    // Two invocations start at once, as when a source changes while a run is
    // in flight: they differ in one input (GEN_STAMP), so each really
    // generates, and the second generation replaces every file while the
    // reader (and possibly the first invocation's lint, typecheck and build)
    // read them.
    //
    // Why not two identical invocations: they share one task hash, and then
    // Nx's own cache races decide the outcome, not lockstep. Whichever
    // reaches `generate` after the other has stored its entry takes a cache
    // hit, which Nx applies by deleting outDir and copying the cached files in
    // (a target with "stash" closes that: see generate-cache.spec.ts), and two invocations storing the
    // same hash at once collide inside `.nx/cache/<hash>` ("No such file or
    // directory (os error 2)" / "Io error", retried 6 times, then the task
    // fails). Different hashes keep each invocation's cache entries its own.
    //
    // And so that the two really contend for the lock, the first generation
    // holds it until the other invocation prints that it is waiting.
    const barrier = ws.scratch('barrier-go');
    let released = false;
    const onLine = (_stream: string, line: string) => {
      if (!released && line.includes(`[lockstep] Waiting for ${OUT}`)) {
        released = true;
        fs.writeFileSync(barrier, 'go');
      }
    };
    const stamps = ['gen-a', 'gen-b'];
    const reader = await startReader(ws.path(OUT), COUNT, ws.scratch('reader.json'));
    const args = [...RUN_MANY, '--output-style=stream'];
    let runs: RunResult[];
    let tally: ReaderTally;
    try {
      runs = await Promise.all(stamps.map((stamp) => ws.nx(args, { env: { GEN_STAMP: stamp, GEN_BARRIER_FILE: barrier }, onLine })));
    } finally {
      tally = await reader.stop();
    }
    if (process.env.LOCKSTEP_E2E_DEBUG === '1') console.log(runs.map((run) => run.output).join('\n===== the other invocation =====\n'));
    expectSuccess(runs[0], 'the nx run-many with GEN_STAMP=gen-a');
    expectSuccess(runs[1], 'the nx run-many with GEN_STAMP=gen-b');

    // Each invocation ran the generator once and wrote every file; exactly one queued for the lock.
    const results = runs.map((run) => run.output.match(/\[lockstep\] dist\/gen\/app: .*/g) ?? []);
    for (const lines of results) {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/: 200 files, 200 written, 0 unchanged, 0 pruned in \d+ ms/);
    }
    const waited = results.map((lines) => /\(waited \d+ ms for the lock\)/.test(lines[0]));
    expect(waited.filter(Boolean)).toHaveLength(1);
    lastStamp = stamps[waited.indexOf(true)];
    // Every consumer task of both invocations ran and found every file whole (they exit 1 otherwise).
    for (const run of runs) {
      expect(run.output).toMatch(/Cache:\s+0\/4 hit/);
      expect(run.output.match(/\[(lint|typecheck|build)\] 200 files in dist\/gen\/app are whole/g)).toHaveLength(3);
    }

    // The reader: after the first complete generation, nothing went missing; never empty or torn.
    console.log(
      `[nx-e2e] reader: ${tally.reads} reads in ${tally.sweeps} sweeps over ${tally.durationMs} ms, ` +
        `${tally.completeSweeps} complete sweeps, generations seen: ${tally.stamps.join(', ')}; ` +
        `missing before the first generation: ${tally.missingBefore}, after: ${tally.missing}, empty: ${tally.empty}, torn: ${tally.torn}`,
    );
    expect(tally.completeOnce).toBe(true);
    expect({ missing: tally.missing, empty: tally.empty, torn: tally.torn, errors: tally.errors, samples: tally.samples }).toEqual({
      missing: 0,
      empty: 0,
      torn: 0,
      errors: 0,
      samples: [],
    });
    // It read both generations: it was reading while the second one replaced every file.
    expect(tally.stamps.sort()).toEqual(stamps);

    // outDir holds exactly the last generation: the set of files and the bytes.
    expect(expectOneGeneration(ws.snapshot(OUT), COUNT, 'outDir after both runs')).toBe(lastStamp);
    expect(findLeftovers(ws.path('dist'))).toEqual([]);

    // For the record, not asserted: this target caches outDir itself (no
    // "stash"), so Nx copies outDir into its cache after the executor has
    // returned (and released the lock), and the first generation's entry can
    // pick up files of the second one. generate-cache.spec.ts shows a target
    // with "stash" keeping every entry to its own run.
    console.log(`[nx-e2e] Nx cache entries of ${OUT}: ${describeCacheEntries(ws, OUT)}`);
  });

  it('a third run-many is a full cache hit, and the cache restores a deleted outDir', async () => {
    // Normally the two runs above filled the cache; run alone (jest -t), fill it here.
    if (!lastStamp) {
      lastStamp = 'gen-a';
      expectSuccess(await ws.nx(RUN_MANY, { env: { GEN_STAMP: lastStamp } }), 'a first nx run-many');
    }
    const env = { GEN_STAMP: lastStamp };
    const third = await ws.nx([...RUN_MANY, '--output-style=static'], { env });
    expectSuccess(third, 'the third nx run-many');
    expect(third.output).toMatch(/Nx read the output from the cache instead of running the command for 4 out of 4 tasks/);
    expect(third.output).toMatch(/Cache:\s+4\/4 hit \(100%\)/);
    expect(third.output).toMatch(/> nx run app:generate\s+\[local cache\]/);
    const restored = ws.snapshot(OUT);
    expectSameTree(restored, generation(COUNT, lastStamp), 'outDir after the cache hit');

    fs.rmSync(ws.path(OUT), { recursive: true });
    const fourth = await ws.nx([...RUN_MANY, '--output-style=static'], { env });
    expectSuccess(fourth, 'nx run-many after deleting outDir');
    expect(fourth.output).toMatch(/Cache:\s+4\/4 hit \(100%\)/);
    expectSameTree(ws.snapshot(OUT), restored, 'outDir restored from the cache');
    expect(findLeftovers(ws.path('dist'))).toEqual([]);
  });
});

describe('a generator that throws', () => {
  const OUT = 'dist/gen/lib';
  const COUNT = 30;
  let ws: TempWorkspace;

  beforeAll(async () => {
    ws = await createTempWorkspace('throwing', {
      ...fixtureFiles(),
      'libs/lib/generate.js': generatorModule('libs/lib/generate.js', { count: COUNT }),
      'libs/lib/broken.js': generatorModule('libs/lib/broken.js', { failWith: 'boom: template api.hbs has no closing tag' }),
      ...projectFile('lib', 'libs/lib', {
        generate: generateTarget({ outDir: OUT, generator: 'libs/lib/generate.js' }, { configurations: { broken: { generator: 'libs/lib/broken.js' } } }),
      }),
    });
  }, SETUP_MS);

  afterAll(() => ws?.remove());

  it('fails with EGENERATOR and the error, and leaves outDir exactly as the previous run left it', async () => {
    const good = await ws.nx(['run', 'lib:generate', '--output-style=static']);
    expectSuccess(good, 'nx run lib:generate');
    expect(good.output).toContain(`[lockstep] ${OUT}: ${COUNT} files, ${COUNT} written, 0 unchanged, 0 pruned`);
    const before = ws.snapshot(OUT);
    expectOneGeneration(before, COUNT, 'outDir after the good run');
    const mtimesBefore = ws.mtimes(OUT);

    const bad = await ws.nx(['run', 'lib:generate:broken', '--output-style=static']);
    expectFailure(bad, 'nx run lib:generate:broken');
    expect(bad.output).toContain('[lockstep] [EGENERATOR] The generator libs/lib/broken.js failed: boom: template api.hbs has no closing tag');
    expect(bad.output).toMatch(/Hint: outDir was left as it was/);

    expectSameTree(ws.snapshot(OUT), before, 'outDir after the failed run');
    expect(ws.mtimes(OUT)).toEqual(mtimesBefore);
    expect(findLeftovers(ws.path('dist'))).toEqual([]);
  });
});

describe('a command writing into $LOCKSTEP_OUT_DIR', () => {
  const OUT = 'dist/cmd/tool';
  const COUNT = 25;
  let ws: TempWorkspace;

  beforeAll(async () => {
    ws = await createTempWorkspace('command', {
      ...fixtureFiles(),
      'apps/tool/gen.js': commandScript('apps/tool/gen.js', { count: COUNT, stamp: 'cmd-v1' }),
      'apps/tool/gen-fail.js': commandScript('apps/tool/gen-fail.js', { count: COUNT, stamp: 'cmd-v2', failAfterPartialWrite: true }),
      ...projectFile('tool', 'apps/tool', {
        generate: generateTarget(
          { outDir: OUT, command: 'node apps/tool/gen.js "$LOCKSTEP_OUT_DIR"' },
          { configurations: { failing: { command: 'node apps/tool/gen-fail.js' } } },
        ),
      }),
    });
  }, SETUP_MS);

  afterAll(() => ws?.remove());

  it('lands the command output in outDir; a command that exits 1 leaves outDir untouched and gives EGENERATOR', async () => {
    const good = await ws.nx(['run', 'tool:generate', '--output-style=static']);
    expectSuccess(good, 'nx run tool:generate');
    expect(good.output).toContain(`command: wrote ${COUNT} files`);
    expect(good.output).toContain(`[lockstep] ${OUT}: ${COUNT} files, ${COUNT} written, 0 unchanged, 0 pruned`);
    expectSameTree(ws.snapshot(OUT), generation(COUNT, 'cmd-v1'), 'outDir after the command');
    expect(findLeftovers(ws.path('dist'))).toEqual([]);
    const before = ws.snapshot(OUT);
    const mtimesBefore = ws.mtimes(OUT);

    const bad = await ws.nx(['run', 'tool:generate:failing', '--output-style=static']);
    expectFailure(bad, 'nx run tool:generate:failing');
    expect(bad.output).toContain('command: giving up half way');
    expect(bad.output).toContain("[lockstep] [EGENERATOR] The command 'node apps/tool/gen-fail.js' exited with code 1.");
    expect(bad.output).toMatch(/Hint: outDir was left as it was/);

    expectSameTree(ws.snapshot(OUT), before, 'outDir after the failed command');
    expect(ws.mtimes(OUT)).toEqual(mtimesBefore);
    expect(findLeftovers(ws.path('dist'))).toEqual([]);
  });
});

describe('bad options', () => {
  const ROOT = 'apps/bad';
  let ws: TempWorkspace;
  const projectSources = () => ws.snapshot(ROOT);
  let sourcesBefore: Record<string, Buffer>;

  beforeAll(async () => {
    const generator = `${ROOT}/generate.js`;
    ws = await createTempWorkspace('bad-options', {
      ...fixtureFiles(),
      [generator]: generatorModule(generator, { count: 5 }),
      [`${ROOT}/src/index.ts`]: 'export const answer = 42;\n',
      ...projectFile('bad', ROOT, {
        'both-generator-and-command': generateTarget({ outDir: 'dist/bad/both', generator, command: 'node -e 0' }),
        'neither-generator-nor-command': generateTarget({ outDir: 'dist/bad/neither' }),
        'missing-out-dir': generateTarget({ generator }),
        'out-dir-is-project-root': generateTarget({ outDir: ROOT, generator }),
      }),
    });
    sourcesBefore = projectSources();
  }, SETUP_MS);

  afterAll(() => ws?.remove());

  it.each([
    ['both-generator-and-command', 'Set either generator or command, not both.'],
    ['neither-generator-nor-command', 'The generate target needs a generator or a command.'],
    ['out-dir-is-project-root', `[EOUTDIRUNSAFE] Refusing outDir '${ROOT}': it is the root of project '${ROOT}' or contains it`],
  ])('%s: non-zero exit with a code and a hint, nothing written', async (target, message) => {
    const result = await ws.nx(['run', `bad:${target}`, '--output-style=static']);
    expectFailure(result, `nx run bad:${target}`);
    expect(result.output).toContain(`[lockstep] ${message.startsWith('[') ? message : `[EBADOPTIONS] ${message}`}`);
    expect(result.output).toMatch(/Hint: /);
    expect(fs.existsSync(ws.path('dist'))).toBe(false);
    expectSameTree(projectSources(), sourcesBefore, 'the project sources');
  });

  // schema.json does not mark outDir required, so the executor's own check
  // (a code and a hint) answers instead of Nx's generic schema error.
  it('missing-out-dir: EBADOPTIONS with a hint, nothing written', async () => {
    const result = await ws.nx(['run', 'bad:missing-out-dir', '--output-style=static']);
    expectFailure(result, 'nx run bad:missing-out-dir');
    expect(result.output).toContain('[lockstep] [EBADOPTIONS] The generate target needs an outDir.');
    expect(result.output).toMatch(/Hint: Set "outDir"/);
    expect(fs.existsSync(ws.path('dist'))).toBe(false);
    expectSameTree(projectSources(), sourcesBefore, 'the project sources');
  });
});
