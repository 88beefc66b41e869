'use strict';
/**
 * The side-by-side publish bench (issue 13; budgets in publish-report.js):
 * the same generated workspace (60 packages in 6 levels, each depending on
 * 2–3 of the level below, level 0 none; publish-fixture.js) published by
 *
 *   lerna          Lerna `publish from-package --yes --concurrency 4`
 *                  (installed on demand in tools/bench/lerna/: lerna-tool.js)
 *   batch          lockstep `nx run-many -t publish --batch --maxConcurrency=4`
 *   default        lockstep `nx run-many -t publish` (no flag, no option: preferBatch
 *                  and the executor's own default concurrency)
 *   per-task       lockstep `--batch=false --parallel=4`
 *   noop-per-task  Nx with a do-nothing executor per task, --parallel=4: Nx's
 *                  own per-task floor (no registry)
 *
 * each on a fresh Verdaccio behind the same fault proxy (+100 ms per
 * request), alternating in a rotating order for `reps` rounds (≥ 3), after a
 * warm-up. Per run: wall, CPU (user + sys) of the tool's whole process tree,
 * the registry's CPU, and the bound from the proxy's log of that run
 * (publish-stage.js, proxy-bound.js); every publishing run is verified.
 */
const { openStage } = require('./publish-stage');
const { ensureLerna } = require('./lerna-tool');
const { summarize, median } = require('./stats');

const VARIANTS = ['lerna', 'batch', 'default', 'per-task', 'noop-per-task'];
const DEFAULTS = { reps: 3, levels: 6, perLevel: 10, concurrency: 4, latencyMs: 100, seed: 7, variants: VARIANTS, keep: false };

const med = (values) => {
  const v = values.filter(Number.isFinite);
  return v.length ? median(v) : NaN;
};

async function runSideBySide(core, options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const log = opts.log || (() => {});
  const lerna = opts.variants.includes('lerna') ? ensureLerna(log) : undefined;
  const stage = await openStage({ core, levels: opts.levels, perLevel: opts.perLevel, seed: opts.seed, concurrency: opts.concurrency, latencyMs: opts.latencyMs, lernaCli: lerna && lerna.cli, keep: opts.keep, dir: opts.dir, log });
  const results = { config: { ...stage.config, reps: opts.reps, variants: opts.variants, lerna: lerna && { version: lerna.version, installedNow: lerna.installedNow, installMs: lerna.installMs } }, labels: {}, runs: [] };
  for (const v of opts.variants) results.labels[v] = stage.specs[v].label;
  let failed = false;
  try {
    log('side-by-side: warm-up …');
    await stage.warmUp(opts.variants);
    for (let round = 0; round < opts.reps; round++) {
      const order = opts.variants.map((_, i) => opts.variants[(i + round) % opts.variants.length]);
      log(`side-by-side: round ${round + 1}/${opts.reps}: ${order.join(', ')}`);
      for (const variant of order) {
        const run = await stage.run(variant, { round });
        if (!run.valid) failed = true;
        results.runs.push(run);
      }
    }
    results.analysis = analyseSideBySide(results);
    results.failed = failed;
    return results;
  } finally {
    await stage.close(failed);
  }
}

/** Medians per tool over its valid runs, and the same-round ratios. */
function analyseSideBySide(results) {
  const { packages } = results.config;
  const valid = (v) => results.runs.filter((r) => r.variant === v && r.valid);
  const tools = {};
  for (const v of results.config.variants) {
    const runs = valid(v);
    tools[v] = {
      n: runs.length,
      invalid: results.runs.filter((r) => r.variant === v && !r.valid).length,
      wall: summarize(runs.map((r) => r.wallMs)),
      cpuMs: med(runs.map((r) => r.cpuMs)),
      cpuPerPackageMs: med(runs.map((r) => r.cpuMs / packages)),
      userMs: med(runs.map((r) => r.userMs)),
      sysMs: med(runs.map((r) => r.sysMs)),
      registryCpuMs: med(runs.map((r) => r.registryCpuMs)),
      maxRssMiB: med(runs.map((r) => r.maxRssKiB / 1024)),
      boundMs: med(runs.map((r) => r.bound && r.bound.boundMs)),
      criticalPathMs: med(runs.map((r) => r.bound && r.bound.criticalPathMs)),
      sumOverConcurrencyMs: med(runs.map((r) => r.bound && r.bound.sumOverConcurrencyMs)),
      perPackageRequestMs: med(runs.map((r) => r.bound && r.bound.perPackageMs)),
      requestsPerPackage: med(runs.map((r) => r.bound && r.bound.requestsPerPackage)),
      unattributed: med(runs.map((r) => r.bound && r.bound.unattributed)),
      peakInFlight: med(runs.map((r) => r.bound && r.bound.peakInFlight)),
      // each run over its own bound, median over runs
      overBound: med(runs.map((r) => r.bound && r.wallMs / r.bound.boundMs)),
      uploadBoundMs: med(runs.map((r) => r.bound && r.bound.uploadBoundMs)),
      overUploadBound: med(runs.map((r) => r.bound && r.wallMs / r.bound.uploadBoundMs)),
      sameBytes: runs.length ? Math.min(...runs.map((r) => (r.verified ? r.verified.sameBytes : NaN))) : NaN,
      leftovers: runs.reduce((a, r) => a + (r.leftovers || 0), 0),
    };
    tools[v].overBoundOfMedians = tools[v].wall.median / tools[v].boundMs;
  }
  // Ratios within a round (both runs valid), median over rounds.
  const pairs = (a, b, value) => {
    const out = [];
    for (const ra of valid(a)) {
      const rb = valid(b).find((r) => r.round === ra.round);
      if (rb) out.push(value(ra) / value(rb));
    }
    return out;
  };
  const paired = {};
  const has = (v) => results.config.variants.includes(v);
  if (has('lerna')) {
    for (const v of ['batch', 'default', 'per-task']) {
      if (!has(v)) continue;
      paired[`${v}CpuOverLerna`] = med(pairs(v, 'lerna', (r) => r.cpuMs));
      paired[`${v}WallOverLerna`] = med(pairs(v, 'lerna', (r) => r.wallMs));
    }
  }
  if (has('per-task') && has('noop-per-task')) paired.perTaskOverFloor = med(pairs('per-task', 'noop-per-task', (r) => r.wallMs));
  return { tools, paired, invalidRuns: results.runs.filter((r) => !r.valid).map((r) => `${r.variant}#${r.n}: ${(r.problems || []).join('; ')}`) };
}

module.exports = { runSideBySide, analyseSideBySide, VARIANTS, DEFAULTS };
