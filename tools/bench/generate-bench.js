'use strict';
/**
 * Generate benchmark: lockstep's commitTree against a plain fs.promises.writeFile
 * rewrite of the same files.
 *
 * Fixture: FILES files of 1–64 KiB (deterministic sizes and bytes) spread over
 * DIRS subdirectories, in two contents A and B of identical sizes whose bytes
 * differ. All variants work on ONE tree (in a temp dir on os.tmpdir()'s disk,
 * created up front), so every variant rewrites files that exist and are in the
 * page cache (warm), in the same directories: on file systems where the cost
 * of creating an inode depends on the directory's block group and its recent
 * deletions (ext4 without a journal), separate trees would not be comparable.
 * The bench tracks which content (A or B) the tree holds:
 *   plain      fs.promises.writeFile of every file with the other content, in
 *              place, with the same parallelism as commitTree (core's
 *              mapLimit, 32 in flight)
 *   changed    commitTree(tree, <the other content>) : every file differs, same
 *              size, so commitTree must read each one before writing it (worst case)
 *   unchanged  commitTree(tree, <the content on disk>): every file identical
 * commitTree runs with its defaults (prune and sweep on), as runGenerate calls it.
 * Variants alternate inside each round, in a rotating order, after one warm-up
 * round; before every timed operation `sync` flushes the dirty pages the
 * previous one left, so no variant pays for another's writeback (page cache
 * stays warm: sync cleans pages, it does not drop them).
 * A diagnostic phase follows (not part of the budget figures): plain, the
 * atomic-replace floor and changed alternate again, see DIAG_VARIANTS.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { mulberry32 } = require('./prng');
const { summarize, median } = require('./stats');
const cleanup = require('./cleanup');

const VARIANTS = ['plain', 'changed', 'unchanged'];
// diagnostic phase, after the measured rounds: the atomic-replace floor (temp
// sibling + rename of every file, no compare: what any G4-safe commit must at
// least do) next to plain and changed, so changed/floor isolates commitTree's
// own overhead from the file system's cost of replacing inodes
const DIAG_VARIANTS = ['plain', 'floor', 'changed'];

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
 * @param opts   { files, dirs, minBytes, maxBytes, seed, reps, diagRounds, concurrency, sync, dir, log }
 */
async function runGenerateBench(core, opts) {
  const o = { files: 2000, dirs: 20, minBytes: 1024, maxBytes: 64 * 1024, seed: 20261123, reps: 7, diagRounds: 5, concurrency: 32, sync: true, dir: os.tmpdir(), log: () => {}, ...opts };
  const fixture = makeFixture(o);
  const base = cleanup.track(fs.mkdtempSync(path.join(o.dir, 'lockstep-bench-gen-')));
  const tree = path.join(base, 'out');
  // the content the tree holds now: 'a' or 'b'
  let onDisk = 'a';
  const other = () => (onDisk === 'a' ? 'b' : 'a');
  const samples = { plain: [], changed: [], unchanged: [] };
  const diagSamples = { plain: [], floor: [], changed: [] };
  const diagRounds = [];
  const syncMs = [];
  const commitStats = { changed: [], unchanged: [] };
  const rounds = [];
  const started = performance.now();

  const runVariant = async (variant) => {
    if (o.sync) syncMs.push(syncDisk());
    const next = variant === 'unchanged' ? onDisk : other();
    let t0;
    let dt;
    if (variant === 'plain') {
      t0 = performance.now();
      await writeTreePlain(core, tree, fixture, next, o.concurrency);
      dt = performance.now() - t0;
      onDisk = next;
      return { dt };
    }
    if (variant === 'floor') {
      t0 = performance.now();
      await core.mapLimit(fixture.entries, o.concurrency, (e) => core.writeFileAtomicFast(path.join(tree, e.path), e[next]));
      dt = performance.now() - t0;
      onDisk = next;
      return { dt };
    }
    const input = next === 'a' ? fixture.commitA : fixture.commitB;
    t0 = performance.now();
    const stats = await core.commitTree(tree, input, { concurrency: o.concurrency });
    dt = performance.now() - t0;
    onDisk = next;
    const expectWritten = variant === 'changed' ? fixture.entries.length : 0;
    if (stats.written !== expectWritten || stats.written + stats.unchanged !== fixture.entries.length || stats.pruned !== 0) {
      throw new Error(`bench self-check failed: commitTree(${variant}) returned ${JSON.stringify(stats)}`);
    }
    return { dt, stats };
  };

  try {
    o.log(`  fixture: ${fixture.entries.length} files, ${(fixture.totalBytes / 1048576).toFixed(1)} MiB, ${fixture.dirs.length} dirs, in ${base}`);
    for (const d of fixture.dirs) fs.mkdirSync(path.join(tree, d), { recursive: true });
    await writeTreePlain(core, tree, fixture, 'a', o.concurrency);
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

    if (o.diagRounds) await runVariant('floor'); // its warm-up, not recorded
    for (let r = 0; r < o.diagRounds; r++) {
      const order = DIAG_VARIANTS.map((_, i) => DIAG_VARIANTS[(i + r) % DIAG_VARIANTS.length]);
      const round = { order, ms: {} };
      for (const v of order) {
        const { dt } = await runVariant(v);
        diagSamples[v].push(dt);
        round.ms[v] = dt;
      }
      diagRounds.push(round);
      o.log(`  diagnostic round ${r + 1}/${o.diagRounds}: ${order.map((v) => `${v} ${round.ms[v].toFixed(0)} ms`).join(', ')}`);
    }

    const rng = mulberry32(o.seed + 3);
    await verifySample(tree, fixture, onDisk, rng, 200);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
    cleanup.untrack(base);
    if (o.sync) syncDisk();
  }

  const summary = Object.fromEntries(VARIANTS.map((v) => [v, summarize(samples[v])]));
  const pairedRatio = (v) => median(rounds.map((r) => r.ms[v] / r.ms.plain));
  const diag = o.diagRounds
    ? {
        samplesMs: diagSamples,
        rounds: diagRounds,
        summary: Object.fromEntries(DIAG_VARIANTS.map((v) => [v, summarize(diagSamples[v])])),
        // paired per round, medians
        floorOverPlain: median(diagRounds.map((r) => r.ms.floor / r.ms.plain)),
        changedOverFloor: median(diagRounds.map((r) => r.ms.changed / r.ms.floor)),
        changedOverPlain: median(diagRounds.map((r) => r.ms.changed / r.ms.plain)),
      }
    : undefined;
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
      diagRounds: o.diagRounds,
      concurrency: o.concurrency,
      syncBeforeEachOp: o.sync,
      sharedTree: true,
      commitTreeOptions: { concurrency: o.concurrency, prune: 'default (true)', sweep: 'default (true)' },
      dir: o.dir,
    },
    samplesMs: samples,
    rounds,
    summary,
    ratios: {
      changedOverPlain: summary.changed.median / summary.plain.median,
      unchangedOverPlain: summary.unchanged.median / summary.plain.median,
      pairedMedian: { changedOverPlain: pairedRatio('changed'), unchangedOverPlain: pairedRatio('unchanged') },
    },
    diagnostic: diag,
    commitStats: { changed: commitStats.changed[0], unchanged: commitStats.unchanged[0] },
    syncMs: summarize(syncMs),
    wallMs: performance.now() - started,
  };
}

module.exports = { runGenerateBench, makeFixture };
