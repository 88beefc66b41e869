'use strict';
/**
 * Publish at scale and under faults (issue 13; `publish-run.js --scale`,
 * budgets in publish-report.js): lockstep batch
 * (`nx run-many -t publish --batch --maxConcurrency=4`) on
 *
 *   60 packages in 6 levels and 500 packages in 10 levels (50 per level),
 *   fault-free and with 5 % of requests answered 429/503 (Retry-After 1 s),
 *
 * each run on a fresh Verdaccio behind the fault proxy (+100 ms per request),
 * alternating in a rotating order for `reps` rounds (publish-stage.js). Per
 * run: wall, the bound from the proxy's log of that run, CPU of the process
 * tree, the peak RSS of the largest process (RUSAGE_CHILDREN) and of the
 * whole tree (sampled every 200 ms). Then the journal's cost per transition
 * at 60 and at 500 packages in a run (journal-bench.js).
 */
const { openStage } = require('./publish-stage');
const { runJournalBench } = require('./journal-bench');
const { summarize, median } = require('./stats');

const DEFAULTS = { reps: 3, small: { levels: 6, perLevel: 10 }, large: { levels: 10, perLevel: 50 }, concurrency: 4, latencyMs: 100, keep: false };

const med = (values) => {
  const v = values.filter(Number.isFinite);
  return v.length ? median(v) : NaN;
};

async function runScalePublish(core, options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const log = opts.log || (() => {});
  const stages = {};
  const results = { config: { reps: opts.reps }, runs: [] };
  let failed = false;
  try {
    for (const [key, shape] of [['small', opts.small], ['large', opts.large]]) {
      stages[key] = await openStage({ core, ...shape, seed: key === 'small' ? 7 : 11, concurrency: opts.concurrency, latencyMs: opts.latencyMs, sampleTree: true, keep: opts.keep, dir: opts.dir, log });
      results.config[key] = stages[key].config;
    }
    log('scale: warm-up …');
    for (const key of Object.keys(stages)) await stages[key].warmUp([]);
    const cells = [
      ['small', false],
      ['small', true],
      ['large', false],
      ['large', true],
    ];
    for (let round = 0; round < opts.reps; round++) {
      const order = cells.map((_, i) => cells[(i + round) % cells.length]);
      log(`scale: round ${round + 1}/${opts.reps}`);
      for (const [key, faults] of order) {
        const run = await stages[key].run('batch', { faults, round });
        run.size = key;
        if (!run.valid) failed = true;
        results.runs.push(run);
      }
    }
    log('scale: journal cost per transition at 60 and 500 packages …');
    results.journal = await runJournalBench(core, { sizes: [results.config.small.packages, results.config.large.packages], keep: opts.keep, log });
    results.analysis = analyseScale(results);
    results.failed = failed;
    return results;
  } finally {
    for (const s of Object.values(stages)) await s.close(failed);
  }
}

function analyseScale(results) {
  const out = { invalidRuns: results.runs.filter((r) => !r.valid).map((r) => `${r.size}${r.faults ? '+faults' : ''}#${r.n}: ${(r.problems || []).join('; ')}`) };
  for (const size of ['small', 'large']) {
    const valid = (faults) => results.runs.filter((r) => r.size === size && r.faults === faults && r.valid);
    const cell = (faults) => {
      const runs = valid(faults);
      return {
        n: runs.length,
        wall: summarize(runs.map((r) => r.wallMs)),
        boundMs: med(runs.map((r) => r.bound.boundMs)),
        overBound: med(runs.map((r) => r.wallMs / r.bound.boundMs)),
        uploadBoundMs: med(runs.map((r) => r.bound.uploadBoundMs)),
        overUploadBound: med(runs.map((r) => r.wallMs / r.bound.uploadBoundMs)),
        cpuMs: med(runs.map((r) => r.cpuMs)),
        registryCpuMs: med(runs.map((r) => r.registryCpuMs)),
        maxRssMiB: runs.length ? Math.max(...runs.map((r) => r.maxRssKiB / 1024)) : NaN,
        treePeakRssMiB: runs.length ? Math.max(...runs.map((r) => r.treePeakRssKiB / 1024)) : NaN,
        treePeakProcesses: runs.length ? Math.max(...runs.map((r) => r.treePeakProcesses || 0)) : NaN,
        faultsInjected: runs.map((r) => r.faultsInjected),
        requestsPerPackage: med(runs.map((r) => r.bound.requestsPerPackage)),
        peakInFlight: med(runs.map((r) => r.bound.peakInFlight)),
      };
    };
    const free = cell(false);
    const faulty = cell(true);
    const pairs = [];
    for (const f of valid(true)) {
      const b = valid(false).find((r) => r.round === f.round);
      if (b) pairs.push(f.wallMs / b.wallMs);
    }
    out[size] = { packages: results.config[size].packages, levels: results.config[size].levels, free, faults: faulty, faultsOverFree: faulty.wall.median / free.wall.median, faultsOverFreePaired: med(pairs) };
  }
  return out;
}

module.exports = { runScalePublish, analyseScale, DEFAULTS };
