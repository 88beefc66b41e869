'use strict';
/**
 * Generate cache-hit benchmark: a cache hit of FILES files (1–64 KiB) as
 * lockstep's stash makes it, against Nx's own restore of the same outputs.
 *
 * Nx's restore is Nx's own native code (nx/src/native NxCache: put, then
 * copyFilesFromCache, which removes the output path and copies the entry in),
 * called directly in a temp workspace so nx's start-up is not in the figures.
 * Entries: the tree as generation A and B (every file differs, same sizes),
 * and C (A with CHANGED_SHARE of the files changed), each stored twice: as
 * outDir itself (what a target without "stash" caches) and as the stash with
 * its index (what the stash task caches, written by core's runStashStep).
 *
 * Variants, per cache hit that turns the tree from one generation into another:
 *   nx        Nx restores outDir from its entry (delete + copy)
 *   sync      lockstep's sync step alone (runSyncStep: stash → outDir, copy of
 *             changed files to temp + rename, unchanged ones compared and left):
 *             all lockstep adds on a hit whose stash Nx has already restored,
 *             or found restored (the daemon)
 *   hit       the whole hit with a stash: Nx restores the stash, then the sync
 * and two cases: every file changed (A ↔ B) and most unchanged (A ↔ C).
 * Variants alternate in every round after one warm-up round; `sync` (the
 * command) before each timed operation, as in generate-bench.js.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { makeFixture } = require('./generate-bench');
const { summarize } = require('./stats');

const NX_DIST = path.join(__dirname, '..', '..', 'node_modules', 'nx', 'dist');
const CHANGED_SHARE = 0.02;

function syncDisk() {
  execFileSync('sync');
}

async function runGenerateCacheBench(core, { dir = os.tmpdir(), files = 2000, reps = 5, log = () => undefined } = {}) {
  const ws = fs.mkdtempSync(path.join(dir, 'lockstep-bench-cache-'));
  const cwd = process.cwd();
  try {
    process.chdir(ws);
    fs.writeFileSync(path.join(ws, 'nx.json'), '{}');
    fs.writeFileSync(path.join(ws, 'package.json'), '{"name":"bench","private":true}');
    const native = require(path.join(NX_DIST, 'src', 'native'));
    const { getDbConnection } = require(path.join(NX_DIST, 'src', 'utils', 'db-connection'));
    const db = getDbConnection({ directory: path.join(ws, '.nx', 'workspace-data') });
    const cache = new native.NxCache(ws, path.join(ws, '.nx', 'cache'), db);
    const details = new native.TaskDetails(db);

    const fixture = makeFixture({ files, dirs: 40, minBytes: 1024, maxBytes: 64 * 1024, seed: 4242 });
    const changedEvery = Math.round(1 / CHANGED_SHARE);
    const generations = {
      A: fixture.entries.map((e) => [e.path, e.a]),
      B: fixture.entries.map((e) => [e.path, e.b]),
      C: fixture.entries.map((e, i) => [e.path, i % changedEvery === 0 ? e.b : e.a]),
    };
    const lockDir = path.join(ws, '.locks');
    fs.mkdirSync(lockDir, { mode: 0o700 });
    const OUT = 'out/gen';
    const STASH = 'out/.gen.lockstep-stash';
    const base = { workspaceRoot: ws, outDir: path.join(ws, OUT), stashDir: path.join(ws, STASH), runPid: process.pid, lockDir, stateDir: path.join(ws, '.state') };
    const producer = (name) => ({ kind: 'function', name, generate: (ctx) => generations[name].forEach(([rel, data]) => ctx.emit(rel, data)) });

    // One entry per generation and form: outDir itself, and the stash.
    log(`  generate cache bench: writing ${files} files × 3 generations into Nx's cache (outDir and stash forms) …`);
    const entries = {};
    for (const name of Object.keys(generations)) {
      fs.rmSync(path.join(ws, 'out'), { recursive: true, force: true });
      fs.mkdirSync(path.join(ws, OUT), { recursive: true });
      await core.mapLimit(generations[name], 32, async ([rel, data]) => {
        await fs.promises.mkdir(path.dirname(path.join(ws, OUT, rel)), { recursive: true });
        await fs.promises.writeFile(path.join(ws, OUT, rel), data);
      });
      await core.runStashStep({ ...base, producer: producer(name), taskHash: `stash-${name}` });
      details.recordTaskDetails([{ hash: `out-${name}`, project: 'bench', target: 'generate' }, { hash: `stash-${name}`, project: 'bench', target: 'generate--stash' }]);
      cache.put(`out-${name}`, '', [OUT], 0);
      cache.put(`stash-${name}`, '', [STASH], 0);
      entries[name] = { out: cache.get(`out-${name}`), stash: cache.get(`stash-${name}`) };
    }
    // Start from A, synced.
    cache.copyFilesFromCache(entries.A.stash, [STASH]);
    fs.rmSync(path.join(ws, OUT), { recursive: true, force: true });
    await core.runSyncStep({ ...base, producer: producer('A') });

    const variants = {
      nx: async (to) => cache.copyFilesFromCache(entries[to].out, [OUT]),
      hit: async (to) => {
        cache.copyFilesFromCache(entries[to].stash, [STASH]);
        await core.runSyncStep({ ...base, producer: producer(to), expectedHash: `stash-${to}` });
      },
    };
    const cases = { 'every file changed': ['A', 'B'], [`most unchanged (${CHANGED_SHARE * 100} % changed)`]: ['A', 'C'] };
    const results = {};
    const reset = async (to) => {
      cache.copyFilesFromCache(entries[to].stash, [STASH]);
      await core.runSyncStep({ ...base, producer: producer(to), expectedHash: `stash-${to}` });
    };
    // outDir and the stash both hold `state` (after nx, the stash is behind: 'mixed').
    let state = 'A';
    const ensure = async (gen) => {
      if (state !== gen) await reset(gen);
      state = gen;
    };
    const timeOne = async (variant, to) => {
      if (variant === 'sync') {
        // Not timed: Nx restoring the stash of `to`.
        cache.copyFilesFromCache(entries[to].stash, [STASH]);
        syncDisk();
        const t = performance.now();
        await core.runSyncStep({ ...base, producer: producer(to), expectedHash: `stash-${to}` });
        return performance.now() - t;
      }
      syncDisk();
      const t = performance.now();
      await variants[variant](to);
      return performance.now() - t;
    };
    for (const [label, [from, to]] of Object.entries(cases)) {
      const times = { nx: [], sync: [], hit: [] };
      for (let round = 0; round <= reps; round++) {
        const order = Object.keys(times);
        for (let k = 0; k < round % order.length; k++) order.push(order.shift());
        for (const variant of order) {
          for (const [src, dst] of [[from, to], [to, from]]) {
            await ensure(src);
            const ms = await timeOne(variant, dst);
            state = variant === 'nx' ? 'mixed' : dst;
            if (round > 0) times[variant].push(ms);
          }
        }
      }
      results[label] = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summarize(v)]));
      const m = (k) => results[label][k].median;
      log(
        `  ${label}: nx ${m('nx').toFixed(0)} ms, sync ${m('sync').toFixed(0)} ms (${(m('sync') / m('nx')).toFixed(2)}x), ` +
          `whole hit with the stash ${m('hit').toFixed(0)} ms (${(m('hit') / m('nx')).toFixed(2)}x)`,
      );
    }
    return { files, totalBytes: fixture.totalBytes, changedShare: CHANGED_SHARE, reps, results };
  } finally {
    process.chdir(cwd);
    fs.rmSync(ws, { recursive: true, force: true });
  }
}

module.exports = { runGenerateCacheBench };

if (require.main === module) {
  const core = require(path.join(__dirname, '..', '..', 'packages', 'core', 'dist'));
  const reps = Number(process.argv[2] ?? 5);
  runGenerateCacheBench(core, { reps, log: (line) => console.log(line) })
    .then((result) => {
      const out = path.join(__dirname, '..', '..', 'bench-results', 'generate-cache.json');
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, `${JSON.stringify({ measuredAt: new Date().toISOString(), loadavg: os.loadavg(), ...result }, null, 2)}\n`);
      console.log(`  raw figures: ${path.relative(process.cwd(), out)}`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
