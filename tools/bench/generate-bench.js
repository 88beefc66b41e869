'use strict';
/**
 * Generate benchmark: lockstep's commitTree against a plain fs.promises.writeFile
 * rewrite of the same files.
 *
 * Fixture: FILES files of 1–64 KiB (deterministic sizes and bytes) spread over
 * DIRS subdirectories, in two contents A and B of identical sizes whose bytes
 * differ. Each variant has its own tree under one temp dir on os.tmpdir()'s
 * disk, created up front, so every variant rewrites files that exist and are in
 * the page cache (warm):
 *   plain      fs.promises.writeFile of every file, alternating A/B, with the
 *              same parallelism as commitTree (core's mapLimit, 32 in flight)
 *   changed    commitTree(tree, <the other content>) : every file differs, same
 *              size, so commitTree must read each one before writing it (worst case)
 *   unchanged  commitTree(tree, <the content on disk>): every file identical
 * commitTree runs with its defaults (prune and sweep on), as runGenerate calls it.
 * Variants alternate inside each round, in a rotating order, after one warm-up
 * round; before every timed operation `sync` flushes the dirty pages the
 * previous one left, so no variant pays for another's writeback (page cache
 * stays warm: sync cleans pages, it does not drop them).
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { mulberry32 } = require('./prng');
const { summarize, median } = require('./stats');

const VARIANTS = ['plain', 'changed', 'unchanged'];

function makeFixture({ files, dirs, minBytes, maxBytes, seed }) {
  const layout = mulberry32(seed);
  const bytesA = mulberry32(seed + 1);
  const bytesB = mulberry32(seed + 2);
  const entries = [];
  let totalBytes = 0;
  for (let i = 0; i < files; i++) {
    const dir = `dir-${String(layout.int(0, dirs - 1)).padStart(2, '0')}`;
    const size = layout.int(minBytes, maxBytes);
    const a = bytesA.fill(Buffer.allocUnsafe(size));
    const b = bytesB.fill(Buffer.allocUnsafe(size));
    if (a.equals(b)) b[0] ^= 0xff; // never happens with independent streams, but "changed" must mean changed
    entries.push({ path: `${dir}/file-${String(i).padStart(5, '0')}.bin`, size, a, b });
    totalBytes += size;
  }
  const dirNames = [...new Set(entries.map((e) => e.path.split('/')[0]))].sort();
  return {
    entries,
    totalBytes,
    dirs: dirNames,
    // commitTree input, built once so its cost is not in the timings
    commitA: entries.map((e) => ({ path: e.path, source: { data: e.a } })),
    commitB: entries.map((e) => ({ path: e.path, source: { data: e.b } })),
  };
}

function syncDisk() {
  const t = performance.now();
  execFileSync('sync');
  return performance.now() - t;
}

async function writeTreePlain(core, root, fixture, which, concurrency) {
  await core.mapLimit(fixture.entries, concurrency, (e) => fs.promises.writeFile(path.join(root, e.path), e[which]));
}

async function verifySample(root, fixture, which, rng, count = 50) {
  for (let k = 0; k < count; k++) {
    const e = fixture.entries[rng.int(0, fixture.entries.length - 1)];
    const onDisk = await fs.promises.readFile(path.join(root, e.path));
    if (!onDisk.equals(e[which])) throw new Error(`bench self-check failed: ${e.path} does not hold the expected content`);
  }
}

/**
 * @param core   require('@lockstep/core') (the built dist)
 * @param opts   { files, dirs, minBytes, maxBytes, seed, reps, concurrency, sync, log }
 */
async function runGenerateBench(core, opts) {
  const o = { files: 2000, dirs: 20, minBytes: 1024, maxBytes: 64 * 1024, seed: 20261123, reps: 7, concurrency: 32, sync: true, log: () => {}, ...opts };
  const fixture = makeFixture(o);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-bench-gen-'));
  const trees = Object.fromEntries(VARIANTS.map((v) => [v, path.join(base, v)]));
  // what each tree holds now: 'a' or 'b'
  const state = { plain: 'a', changed: 'a', unchanged: 'a' };
  const samples = { plain: [], changed: [], unchanged: [] };
  const syncMs = [];
  const commitStats = { changed: [], unchanged: [] };
  const rounds = [];
  const started = performance.now();

  const runVariant = async (variant) => {
    if (o.sync) syncMs.push(syncDisk());
    const tree = trees[variant];
    let t0;
    let dt;
    if (variant === 'plain') {
      const next = state.plain === 'a' ? 'b' : 'a';
      t0 = performance.now();
      await writeTreePlain(core, tree, fixture, next, o.concurrency);
      dt = performance.now() - t0;
      state.plain = next;
      return { dt };
    }
    const next = variant === 'unchanged' ? state.unchanged : state.changed === 'a' ? 'b' : 'a';
    const input = next === 'a' ? fixture.commitA : fixture.commitB;
    t0 = performance.now();
    const stats = await core.commitTree(tree, input, { concurrency: o.concurrency });
    dt = performance.now() - t0;
    state[variant] = next;
    const expectWritten = variant === 'changed' ? fixture.entries.length : 0;
    if (stats.written !== expectWritten || stats.written + stats.unchanged !== fixture.entries.length || stats.pruned !== 0) {
      throw new Error(`bench self-check failed: commitTree(${variant}) returned ${JSON.stringify(stats)}`);
    }
    return { dt, stats };
  };

  try {
    o.log(`  fixture: ${fixture.entries.length} files, ${(fixture.totalBytes / 1048576).toFixed(1)} MiB, ${fixture.dirs.length} dirs, in ${base}`);
    for (const v of VARIANTS) {
      for (const d of fixture.dirs) fs.mkdirSync(path.join(trees[v], d), { recursive: true });
      await writeTreePlain(core, trees[v], fixture, 'a', o.concurrency);
    }
    if (o.sync) syncDisk();

    // warm-up round, not recorded
    for (const v of VARIANTS) await runVariant(v);

    for (let r = 0; r < o.reps; r++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]);
      const round = { order, ms: {} };
      for (const v of order) {
        const { dt, stats } = await runVariant(v);
        samples[v].push(dt);
        round.ms[v] = dt;
        if (stats) commitStats[v].push(stats);
      }
      rounds.push(round);
      o.log(`  round ${r + 1}/${o.reps}: ${order.map((v) => `${v} ${round.ms[v].toFixed(0)} ms`).join(', ')}`);
    }

    const rng = mulberry32(o.seed + 3);
    await verifySample(trees.plain, fixture, state.plain, rng);
    await verifySample(trees.changed, fixture, state.changed, rng);
    await verifySample(trees.unchanged, fixture, state.unchanged, rng);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }

  const summary = Object.fromEntries(VARIANTS.map((v) => [v, summarize(samples[v])]));
  const pairedRatio = (v) => median(rounds.map((r) => r.ms[v] / r.ms.plain));
  return {
    config: {
      files: fixture.entries.length,
      dirs: fixture.dirs.length,
      totalBytes: fixture.totalBytes,
      minBytes: o.minBytes,
      maxBytes: o.maxBytes,
      seed: o.seed,
      reps: o.reps,
      warmupRounds: 1,
      concurrency: o.concurrency,
      syncBeforeEachOp: o.sync,
      commitTreeOptions: { concurrency: o.concurrency, prune: 'default (true)', sweep: 'default (true)' },
      tmpdir: os.tmpdir(),
    },
    samplesMs: samples,
    rounds,
    summary,
    ratios: {
      changedOverPlain: summary.changed.median / summary.plain.median,
      unchangedOverPlain: summary.unchanged.median / summary.plain.median,
      pairedMedian: { changedOverPlain: pairedRatio('changed'), unchangedOverPlain: pairedRatio('unchanged') },
    },
    commitStats: { changed: commitStats.changed[0], unchanged: commitStats.unchanged[0] },
    syncMs: summarize(syncMs),
    wallMs: performance.now() - started,
  };
}

module.exports = { runGenerateBench, makeFixture };
