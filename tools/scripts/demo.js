#!/usr/bin/env node
'use strict';
/**
 * npm run demo  (= npm run build && node tools/scripts/demo.js)
 *
 * Packs @lockstep/core and @lockstep/nx, installs them with nx into a sample
 * workspace in a temp dir, then:
 *  1. publish: an embedded Verdaccio (behind a proxy with latency and a few
 *     injected 429/503), 12 packages in 4 levels published with
 *     `nx run-many -t publish`, live progress and a summary; a second run
 *     skips everything; then two clones sharing a git remote release 1.1.0 at
 *     once with lockBackend "git" (tools/scripts/demo-publish.js);
 *  2. generate under contention: three `nx run docs:generate --skip-nx-cache`
 *     at once on one outDir while a reader process checks every generated
 *     file in a loop;
 *  3. the Nx cache: a generate target with "stash": true, whose cache hits
 *     rewrite every file of its outDir while the reader checks them.
 * Exits 1 if anything went wrong. LOCKSTEP_DEMO_KEEP=1 keeps the temp dir.
 */
const fs = require('fs');
const path = require('path');
const { check, generation } = require('./fixtures/selfcheck');
const { runPublishDemo } = require('./demo-publish');
const { fixtureFiles, findLeftovers, generatorModule, startReader } = require('./sample-workspace');
const {
  NX_VERSION,
  assertFreshBuild,
  createTemplateWorkspace,
  createWorkspace,
  makeTempDir,
  packPlugin,
  removeDir,
  runNx,
  snapshotDir,
  terminateChildren,
  writeFiles,
} = require('./workspace');

const PROJECT = 'docs';
const OUT = 'dist/generated/docs';
/** Part 3: the same generator behind a target with "stash": true (Nx caches the stash; outDir is synced from it under the lock). */
const CACHED_PROJECT = 'docs-cached';
const CACHED_OUT = 'dist/generated/docs-cached';
const CACHE_HITS = 4;
const COUNT = 300;
const PARALLEL = 3;
const GENERATOR_DELAY_MS = 1500;

const failures = [];
const fail = (message) => {
  failures.push(message);
  console.log(`  ✗ ${message}`);
};
const ok = (message) => console.log(`  ✓ ${message}`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function step(title, fn) {
  process.stdout.write(`\n▸ ${title}\n`);
  const started = Date.now();
  const result = await fn();
  console.log(`  (${seconds(Date.now() - started)})`);
  return result;
}

/** The `[lockstep] …` lines of an nx run, without Nx's task prefix. */
function lockstepLines(output) {
  return output
    .split('\n')
    .map((line) => line.slice(line.indexOf('[lockstep]')))
    .filter((line) => line.startsWith('[lockstep]'));
}

function parseResult(lines) {
  const line = lines.find((l) => / files, \d+ written, /.test(l));
  if (!line) return undefined;
  const m = /: (\d+) files, (\d+) written, (\d+) unchanged, (\d+) pruned.* in (\d+) ms(?: \(waited (\d+) ms for the lock\))?/.exec(line);
  return m && { files: +m[1], written: +m[2], unchanged: +m[3], pruned: +m[4], ms: +m[5], waitedMs: m[6] ? +m[6] : 0 };
}

/** Checks that outDir (OUT unless given) is exactly the generation `stamp` of COUNT files and holds nothing else. */
function verifyOutDir(workspace, stamp, when, out = OUT) {
  const tree = snapshotDir(path.join(workspace, out));
  const expected = generation(COUNT, stamp);
  const problems = [];
  for (const [rel, data] of Object.entries(tree)) {
    const result = check(rel, data);
    if (!result.ok) problems.push(`${rel} is ${result.kind} (${result.reason})`);
    else if (!(rel in expected)) problems.push(`${rel} is not part of the output`);
    else if (!data.equals(Buffer.from(expected[rel]))) problems.push(`${rel} is from generation ${result.stamp}`);
  }
  for (const rel of Object.keys(expected)) if (!(rel in tree)) problems.push(`${rel} is missing`);
  const leftovers = findLeftovers(path.join(workspace, 'dist'));
  if (problems.length === 0 && leftovers.length === 0) ok(`${when}: ${out} holds exactly the ${COUNT} files of generation '${stamp}', no temp files or staging dirs`);
  else fail(`${when}: ${[...problems, ...leftovers.map((l) => `leftover ${l}`)].slice(0, 5).join('; ')}${problems.length + leftovers.length > 5 ? ' …' : ''}`);
}

async function main() {
  console.log('lockstep demo: publishing a workspace to an embedded registry, and a cached `generate` target under contention, in a real Nx workspace');
  assertFreshBuild();
  const tmp = makeTempDir('lockstep-demo-');
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    if (process.env.LOCKSTEP_DEMO_KEEP === '1') console.log(`\n(kept ${tmp}: LOCKSTEP_DEMO_KEEP=1)`);
    else removeDir(tmp);
  };
  const onSignal = async (signal) => {
    console.log(`\n${signal}: stopping the runs and removing ${tmp}`);
    await terminateChildren();
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const workspace = path.join(tmp, 'sample');
    const nx = (args, env) => runNx(workspace, workspace, args, { env });

    const tarballs = await step('Packing @lockstep/core, @lockstep/cli and @lockstep/nx (npm pack)', async () => {
      const packed = await packPlugin(path.join(tmp, 'tarballs'));
      for (const [name, file] of Object.entries(packed)) console.log(`  ${name}: ${path.basename(file)} (${Math.round(fs.statSync(file).size / 1024)} KiB)`);
      return packed;
    });

    await step(`Installing nx@${NX_VERSION} and the packed plugin into ${workspace} (npm install --prefer-offline)`, async () => {
      await createTemplateWorkspace(workspace, tarballs);
      const version = (name) => JSON.parse(fs.readFileSync(path.join(workspace, 'node_modules', name, 'package.json'), 'utf8')).version;
      console.log(`  installed nx ${version('nx')}, @lockstep/nx ${version('@lockstep/nx')}, @lockstep/core ${version('@lockstep/core')}`);
    });

    await step(`Writing project '${PROJECT}': a cacheable generate target, ${COUNT} files into ${OUT}`, async () => {
      const generator = `apps/${PROJECT}/generate.js`;
      await createWorkspace(workspace, {
        files: {
          ...fixtureFiles(),
          [generator]: generatorModule(generator, { count: COUNT, delayMs: GENERATOR_DELAY_MS }),
          [`apps/${PROJECT}/project.json`]: {
            name: PROJECT,
            root: `apps/${PROJECT}`,
            targets: {
              generate: {
                executor: '@lockstep/nx:generate',
                cache: true,
                inputs: ['default', { env: 'GEN_STAMP' }],
                outputs: ['{options.outDir}'],
                options: { outDir: OUT, generator },
              },
            },
          },
          [`apps/${CACHED_PROJECT}/project.json`]: {
            name: CACHED_PROJECT,
            root: `apps/${CACHED_PROJECT}`,
            targets: {
              generate: {
                executor: '@lockstep/nx:generate',
                inputs: ['default', { env: 'GEN_STAMP' }],
                options: { outDir: CACHED_OUT, generator, stash: true },
              },
            },
          },
        },
      });
      console.log(`  generator ${generator}: ${COUNT} self-checking files (header with path, length and sha256 of the body),`);
      console.log(`  content set by the input GEN_STAMP; it takes ${seconds(GENERATOR_DELAY_MS)} per run (simulated work, inside the lock)`);
      console.log(`  and project '${CACHED_PROJECT}': the same generator into ${CACHED_OUT}, with "stash": true (cached by Nx through its stash)`);
    });

    console.log('\n━━ Part 1: publish ━━');
    await runPublishDemo({
      workspace,
      tmp,
      nx: (args, env, onLine) => runNx(workspace, workspace, args, { env, onLine }),
      nxIn: (cwd, args, env, onLine) => runNx(workspace, cwd, args, { env, onLine }),
      writeFiles,
      step,
      ok,
      fail,
    });

    console.log('\n━━ Part 2: generate under contention ━━');
    await step(`First generation (GEN_STAMP=v1): nx run ${PROJECT}:generate`, async () => {
      const run = await nx(['run', `${PROJECT}:generate`], { GEN_STAMP: 'v1' });
      for (const line of lockstepLines(run.output)) console.log(`  ${line}`);
      if (run.code !== 0) throw new Error(`nx run ${PROJECT}:generate failed:\n${run.output}`);
      verifyOutDir(workspace, 'v1', 'after the first generation');
    });

    const contended = await step(
      `${PARALLEL} × nx run ${PROJECT}:generate --skip-nx-cache at once (GEN_STAMP=v2), a reader checking every file in a loop`,
      async () => {
        const reader = await startReader(path.join(workspace, OUT), COUNT, path.join(tmp, 'reader.json'));
        const started = Date.now();
        let runs;
        let tally;
        try {
          runs = await Promise.all(
            Array.from({ length: PARALLEL }, () => nx(['run', `${PROJECT}:generate`, '--skip-nx-cache'], { GEN_STAMP: 'v2' })),
          );
        } finally {
          tally = await reader.stop();
        }
        return { runs, tally, wallMs: Date.now() - started };
      },
    );

    console.log('\n▸ What happened');
    const { runs, tally } = contended;
    const order = runs.map((run, i) => ({ run, i, result: parseResult(lockstepLines(run.output)) })).sort((a, b) => (a.result?.waitedMs ?? 0) - (b.result?.waitedMs ?? 0));
    for (const { run, i, result } of order) {
      const label = `run ${i + 1} (nx pid ${run.pid}, exit ${run.code}, ${seconds(run.durationMs)})`;
      if (run.code !== 0 || !result) {
        fail(`${label} failed:\n${run.output}`);
        continue;
      }
      console.log(`  ${label}: ${result.written} written, ${result.unchanged} unchanged, ${result.pruned} pruned, waited ${result.waitedMs} ms for the lock`);
      for (const line of lockstepLines(run.output)) console.log(`      ${line}`);
    }
    const results = order.map((o) => o.result).filter(Boolean);
    if (results.length === PARALLEL) {
      const writers = results.filter((r) => r.written > 0);
      if (writers.length === 1 && writers[0].written === COUNT) ok(`one run rewrote the ${COUNT} files; the other ${PARALLEL - 1} found them unchanged and wrote nothing`);
      else fail(`expected exactly one run to write ${COUNT} files, got ${results.map((r) => r.written).join(', ')} written`);
      const waiters = results.filter((r) => r.waitedMs > 0).length;
      if (waiters >= 1) ok(`${waiters} of ${PARALLEL} runs queued for the outDir lock and ran one after the other (all ${PARALLEL} in ${seconds(contended.wallMs)})`);
      else fail(`no run waited for the lock: the runs did not overlap, or the lock is off`);
    }

    console.log(
      `  reader: ${tally.reads} file reads in ${tally.sweeps} sweeps over ${seconds(tally.durationMs)} ` +
        `(${tally.completeSweeps} sweeps saw every file whole; generations seen: ${tally.stamps.join(', ')})`,
    );
    const bad = { torn: tally.torn, empty: tally.empty, missing: tally.missing + tally.missingBefore, errors: tally.errors };
    console.log(`  reader: torn ${bad.torn}, empty ${bad.empty}, missing ${bad.missing}, other errors ${bad.errors}`);
    if (Object.values(bad).every((n) => n === 0)) ok('the reader never saw a torn, empty or missing file');
    else fail(`the reader saw bad reads: ${JSON.stringify(tally.samples.slice(0, 5))}`);
    verifyOutDir(workspace, 'v2', 'after the contended runs');

    console.log('\n━━ Part 3: the Nx cache, without a gap ━━');
    await step(`Two generations of ${CACHED_PROJECT} (GEN_STAMP=v1, then v2): nx run ${CACHED_PROJECT}:generate`, async () => {
      for (const stamp of ['v1', 'v2']) {
        const run = await nx(['run', `${CACHED_PROJECT}:generate`], { GEN_STAMP: stamp });
        if (run.code !== 0) throw new Error(`nx run ${CACHED_PROJECT}:generate failed:\n${run.output}`);
        for (const line of lockstepLines(run.output)) console.log(`  ${line}`);
      }
      console.log(`  Nx ran ${CACHED_PROJECT}:generate--hold (the lock), generate--stash (cached: the generator into the stash) and generate (the sync into outDir)`);
      verifyOutDir(workspace, 'v2', 'after two generations', CACHED_OUT);
    });

    await step(`${CACHE_HITS} cache hits, alternating GEN_STAMP v1 / v2 (each rewrites all ${COUNT} files), a reader checking every file in a loop`, async () => {
      const reader = await startReader(path.join(workspace, CACHED_OUT), COUNT, path.join(tmp, 'reader-cached.json'));
      let tally;
      let hits = 0;
      try {
        for (let i = 0; i < CACHE_HITS; i++) {
          const stamp = i % 2 === 0 ? 'v1' : 'v2';
          const run = await nx(['run', `${CACHED_PROJECT}:generate`], { GEN_STAMP: stamp });
          const hit = new RegExp(`nx run ${CACHED_PROJECT}:generate--stash\\s+\\[local cache\\]`).test(run.output);
          if (run.code !== 0) fail(`nx run ${CACHED_PROJECT}:generate (${stamp}) failed:\n${run.output}`);
          if (hit) hits++;
          const synced = lockstepLines(run.output).find((line) => line.includes('from the stash'));
          console.log(`  GEN_STAMP=${stamp}: ${hit ? 'cache hit' : 'NOT a cache hit'}, ${run.durationMs} ms${synced ? `; ${synced}` : ''}`);
        }
      } finally {
        tally = await reader.stop();
      }
      if (hits === CACHE_HITS) ok(`${hits} of ${CACHE_HITS} runs were cache hits: Nx restored the stash, lockstep synced outDir from it under the lock`);
      else fail(`expected ${CACHE_HITS} cache hits, got ${hits}`);
      const bad = { torn: tally.torn, empty: tally.empty, missing: tally.missing + tally.missingBefore, errors: tally.errors };
      console.log(`  reader: ${tally.reads} file reads in ${tally.sweeps} sweeps; torn ${bad.torn}, empty ${bad.empty}, missing ${bad.missing}, other errors ${bad.errors}`);
      if (Object.values(bad).every((n) => n === 0)) ok('the reader never saw a torn, empty or missing file while Nx restored from its cache');
      else fail(`the reader saw bad reads during the cache hits: ${JSON.stringify(tally.samples.slice(0, 5))}`);
      verifyOutDir(workspace, CACHE_HITS % 2 === 0 ? 'v2' : 'v1', 'after the cache hits', CACHED_OUT);
    });

    console.log(failures.length === 0 ? '\nDemo OK: every package published once in dependency order, a re-run skipped all; generate: no torn, empty or missing reads, one writer at a time, cache hits without a gap.' : `\nDemo FAILED: ${failures.length} problem(s).`);
  } finally {
    cleanup();
  }
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`\nDemo FAILED: ${error.stack ?? error}`);
    process.exit(1);
  },
);
