'use strict';
/**
 * Journal cost per transition at 100 and at 2,000 packages (budget: flat
 * from 100 to 2,000 packages, read as at most 1.25x; publish-report.js).
 *
 * For each size a fresh journal is opened (openJournal, timed: creating a run
 * writes one durable record per package, O(N) by design). Each round takes
 * `perRound` packages spread evenly over each run (a different offset each
 * round) and moves them through packing → publishing → verifying →
 * published, one transition at a time, each awaited and timed on its own;
 * the sizes interleave transition by transition, the order flipping each
 * time, so both see the same state of the disk. Reported: median and p95 per
 * transition per size, the ratio 2,000 ÷ 100, and for context the floor (one
 * writeFileDurable of a record-sized file in the same directory, interleaved
 * the same way) and the O(N) reads a run also makes: joining the run
 * (a second openJournal of the same runId, what each per-task process does),
 * get() of one record, and isComplete() (reads every record; the per-task
 * executor calls it once per task).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { summarize } = require('./stats');

const CYCLE = ['packing', 'publishing', 'verifying', 'published'];

const DEFAULTS = { sizes: [100, 2000], rounds: 4, perRound: 25, readReps: 5 };

async function runJournalBench(core, options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const log = opts.log || (() => {});
  const base = fs.mkdtempSync(path.join(opts.dir || os.tmpdir(), 'lockstep-journal-bench-'));
  const integrity = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;
  const results = { config: { ...opts, log: undefined, base }, sizes: {} };
  try {
    const journals = {};
    for (const size of opts.sizes) {
      const packages = Array.from({ length: size }, (_, i) => ({ name: `@lsb-journal/p${String(i).padStart(5, '0')}`, version: '1.0.0' }));
      const dir = path.join(base, `n${size}`);
      const openOptions = { runId: `bench-${size}`, sha: 'b'.repeat(40), target: 'publish', registry: 'http://127.0.0.1:4873/', packages, resume: 'fresh' };
      const t = performance.now();
      const { journal } = await core.openJournal(dir, openOptions);
      const openMs = performance.now() - t;
      journals[size] = { journal, packages, dir, openOptions };
      results.sizes[size] = { openMs, transitions: [], floor: [], joinMs: [], getMs: [], isCompleteMs: [] };
      log(`journal: opened a run of ${size} packages in ${openMs.toFixed(0)} ms`);
    }

    // Sizes interleave transition by transition (order flipping each time), so both see the same disk state.
    const floorFiles = Object.fromEntries(opts.sizes.map((size) => [size, path.join(journals[size].dir, 'packages', 'floor-probe.json')]));
    let flip = 0;
    for (let round = 0; round < opts.rounds; round++) {
      const chosen = {};
      for (const size of opts.sizes) {
        const { packages } = journals[size];
        const step = packages.length / opts.perRound;
        chosen[size] = Array.from({ length: opts.perRound }, (_, i) => packages[Math.floor(i * step + (round * step) / opts.rounds) % packages.length].name);
      }
      for (const status of CYCLE) {
        for (let i = 0; i < opts.perRound; i++) {
          const order = flip++ % 2 === 0 ? opts.sizes : [...opts.sizes].reverse();
          for (const size of order) {
            const t = performance.now();
            await journals[size].journal.transition(chosen[size][i], status, { level: 3, integrity });
            results.sizes[size].transitions.push(performance.now() - t);
          }
          if (i % 5 === 0) {
            // the floor: one durable write of a record-sized file in the same directory
            for (const size of order) {
              const record = JSON.stringify(journals[size].journal.get(chosen[size][i]));
              const t = performance.now();
              await core.writeFileDurable(floorFiles[size], record);
              results.sizes[size].floor.push(performance.now() - t);
            }
          }
        }
      }
    }
    for (const file of Object.values(floorFiles)) fs.rmSync(file, { force: true });

    for (let rep = 0; rep < opts.readReps; rep++) {
      for (const size of rep % 2 === 0 ? opts.sizes : [...opts.sizes].reverse()) {
        const { journal, packages, dir, openOptions } = journals[size];
        const r = results.sizes[size];
        let t = performance.now();
        await core.openJournal(dir, openOptions);
        r.joinMs.push(performance.now() - t);
        t = performance.now();
        journal.get(packages[Math.floor(packages.length / 2)].name);
        r.getMs.push(performance.now() - t);
        t = performance.now();
        journal.isComplete();
        r.isCompleteMs.push(performance.now() - t);
      }
    }

    const summary = {};
    for (const size of opts.sizes) {
      const r = results.sizes[size];
      summary[size] = {
        openMs: r.openMs,
        transition: summarize(r.transitions),
        floor: summarize(r.floor),
        join: summarize(r.joinMs),
        get: summarize(r.getMs),
        isComplete: summarize(r.isCompleteMs),
      };
    }
    const [small, large] = opts.sizes;
    results.summary = summary;
    results.ratio = summary[large].transition.median / summary[small].transition.median;
    results.floorRatio = summary[large].floor.median / summary[small].floor.median;
    return results;
  } finally {
    if (!opts.keep) fs.rmSync(base, { recursive: true, force: true, maxRetries: 3 });
  }
}

module.exports = { runJournalBench, DEFAULTS };
