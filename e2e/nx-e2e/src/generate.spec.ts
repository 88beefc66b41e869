/**
 * The generate executor of @lockstep/nx, driven by the real nx binary in temp
 * workspaces that install the packed plugin (see global-setup.ts).
 */
import * as fs from 'fs';
import { check, generation } from '../../../tools/scripts/fixtures/selfcheck';
import { checkCommand, commandScript, findLeftovers, fixtureFiles, generatorModule, startReader } from '../../../tools/scripts/sample-workspace';
import { TempWorkspace, createTempWorkspace, expectFailure, expectSuccess } from './utils/temp-workspace';

const GENERATE = '@lockstep/nx:generate';

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

describe('a cacheable generate target that lint, typecheck and build depend on', () => {
  const OUT = 'dist/gen/app';
  const COUNT = 200;
  let ws: TempWorkspace;

  beforeAll(async () => {
    const consumer = (label: string) => ({
      executor: 'nx:run-commands',
      dependsOn: ['generate'],
      cache: true,
      options: { command: checkCommand(OUT, COUNT, label) },
    });
    ws = await createTempWorkspace('concurrent', {
      ...fixtureFiles(),
      'apps/app/generate.js': generatorModule('apps/app/generate.js', { count: COUNT }),
      ...projectFile('app', 'apps/app', {
        generate: generateTarget({ outDir: OUT, generator: 'apps/app/generate.js' }),
        lint: consumer('lint'),
        typecheck: consumer('typecheck'),
        build: consumer('build'),
      }),
    });
  });

  afterAll(() => ws?.remove());

  it('two concurrent `nx run-many -t lint typecheck build` both succeed while a reader never sees a torn, empty or missing file', async () => {
    // Both invocations must really run the executor and meet at the lock.
    // Left to chance, the second one sometimes reaches `generate` after the
    // first has stored its cache entry and takes a cache hit instead, and then
    // it is Nx, not lockstep, that replaces outDir (see the known-gap test at
    // the end). So the first generation holds the lock until the other
    // invocation prints that it is waiting for it.
    const barrier = ws.scratch('barrier-go');
    let released = false;
    const onLine = (_stream: string, line: string) => {
      if (!released && line.includes(`[lockstep] Waiting for ${OUT}`)) {
        released = true;
        fs.writeFileSync(barrier, 'go');
      }
    };
    const reader = await startReader(ws.path(OUT), COUNT, ws.scratch('reader.json'));
    const args = [...RUN_MANY, '--output-style=stream'];
    const env = { GEN_BARRIER_FILE: barrier };
    let runs;
    try {
      runs = await Promise.all([ws.nx(args, { env, onLine }), ws.nx(args, { env, onLine })]);
    } finally {
      var tally = await reader.stop();
    }
    expectSuccess(runs[0], 'the first nx run-many');
    expectSuccess(runs[1], 'the second nx run-many');

    // Each invocation ran the generator once; one of them queued for the lock.
    const output = runs.map((run) => run.output).join('\n');
    const results = output.match(/\[lockstep\] dist\/gen\/app: .*/g) ?? [];
    expect(results).toHaveLength(2);
    for (const line of results) expect(line).toMatch(/: 200 files, 200 written, 0 unchanged, 0 pruned in \d+ ms/);
    expect(results.filter((line) => /\(waited \d+ ms for the lock\)/.test(line)).length).toBeGreaterThanOrEqual(1);
    // Every consumer task of both invocations found every file whole (they exit 1 otherwise).
    expect(output.match(/\[(lint|typecheck|build)\] 200 files in dist\/gen\/app are whole/g)?.length).toBeGreaterThanOrEqual(6);

    // The reader: after the first complete generation, nothing went missing; never empty or torn.
    console.log(
      `[nx-e2e] reader: ${tally.reads} reads in ${tally.sweeps} sweeps over ${tally.durationMs} ms, ` +
        `${tally.completeSweeps} complete sweeps, generations seen: ${tally.stamps.length}, ` +
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
    // The reader read both generations, i.e. it was reading while the second one replaced every file.
    expect(tally.stamps.length).toBe(2);

    // outDir holds exactly one generation: the set of files and the bytes.
    expectOneGeneration(ws.snapshot(OUT), COUNT, 'outDir after both runs');
    expect(findLeftovers(ws.path('dist'))).toEqual([]);
  });

  it('a third run-many is a full cache hit, and the cache restores a deleted outDir', async () => {
    const third = await ws.nx([...RUN_MANY, '--output-style=static']);
    expectSuccess(third, 'the third nx run-many');
    expect(third.output).toMatch(/Nx read the output from the cache instead of running the command for 4 out of 4 tasks/);
    expect(third.output).toMatch(/Cache:\s+4\/4 hit \(100%\)/);
    expect(third.output).toMatch(/> nx run app:generate\s+\[local cache\]/);
    const restored = ws.snapshot(OUT);
    expectOneGeneration(restored, COUNT, 'outDir after the cache hit');

    fs.rmSync(ws.path(OUT), { recursive: true });
    const fourth = await ws.nx([...RUN_MANY, '--output-style=static']);
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
  });

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
  });

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
  });

  afterAll(() => ws?.remove());

  it.each([
    ['both-generator-and-command', 'Set either generator or command, not both.'],
    ['neither-generator-nor-command', 'The generate target needs a generator or a command.'],
    ['out-dir-is-project-root', `outDir '${ROOT}' is the project root or contains it`],
  ])('%s: non-zero exit with EBADOPTIONS, nothing written', async (target, message) => {
    const result = await ws.nx(['run', `bad:${target}`, '--output-style=static']);
    expectFailure(result, `nx run bad:${target}`);
    expect(result.output).toContain(`[lockstep] [EBADOPTIONS] ${message}`);
    expect(result.output).toMatch(/Hint: /);
    expect(fs.existsSync(ws.path('dist'))).toBe(false);
    expectSameTree(projectSources(), sourcesBefore, 'the project sources');
  });

  it('missing-out-dir: non-zero exit naming outDir, nothing written', async () => {
    const result = await ws.nx(['run', 'bad:missing-out-dir', '--output-style=static']);
    expectFailure(result, 'nx run bad:missing-out-dir');
    expect(result.output).toMatch(/outDir/);
    expect(fs.existsSync(ws.path('dist'))).toBe(false);
    expectSameTree(projectSources(), sourcesBefore, 'the project sources');
  });

  // Known deviation from G5: packages/nx/src/executors/generate/schema.json
  // lists outDir as required, so Nx rejects the options with its own
  // "Required property 'outDir' is missing" before the executor (and its
  // EBADOPTIONS check) runs. `it.failing` passes while that is so; once the
  // executor reports it, this turns red: make it a plain `it`.
  it.failing('missing-out-dir: reported as EBADOPTIONS (today Nx rejects it first: schema.json marks outDir required)', async () => {
    const result = await ws.nx(['run', 'bad:missing-out-dir', '--output-style=static']);
    expectFailure(result, 'nx run bad:missing-out-dir');
    expect(result.output).toContain('[lockstep] [EBADOPTIONS] The generate target needs an outDir.');
  });
});

// G4 cannot hold across an Nx cache hit: without the daemon, Nx restores a
// cached target's outputs by deleting outDir and copying the cached files in
// (nx/src/tasks-runner/task-orchestrator.js, shouldCopyOutputsFromCacheBatch:
// "No daemon → can't verify on-disk outputs, always copy"), so a concurrent
// reader sees missing and empty files. lockstep never runs on a cache hit.
// This test reproduces it; it is off by default because it fails today:
//   LOCKSTEP_E2E_KNOWN_GAPS=1 npx jest --selectProjects nx-e2e -t 'cache restore'
(process.env.LOCKSTEP_E2E_KNOWN_GAPS === '1' ? describe : describe.skip)('known gap: an Nx cache restore while a reader reads', () => {
  it('cache restore keeps every file readable (fails today: Nx deletes and copies outDir)', async () => {
    const OUT = 'dist/gen/app';
    const COUNT = 200;
    const ws = await createTempWorkspace('cache-restore', {
      ...fixtureFiles(),
      'apps/app/generate.js': generatorModule('apps/app/generate.js', { count: COUNT }),
      ...projectFile('app', 'apps/app', { generate: generateTarget({ outDir: OUT, generator: 'apps/app/generate.js' }) }),
    });
    try {
      expectSuccess(await ws.nx(['run', 'app:generate']), 'the first nx run app:generate');
      const reader = await startReader(ws.path(OUT), COUNT, ws.scratch('reader.json'));
      for (let i = 0; i < 3; i++) expectSuccess(await ws.nx(['run', 'app:generate']), 'nx run app:generate (cache hit)');
      const tally = await reader.stop();
      expect({ missing: tally.missing, empty: tally.empty, torn: tally.torn }).toEqual({ missing: 0, empty: 0, torn: 0 });
    } finally {
      ws.remove();
    }
  });
});
