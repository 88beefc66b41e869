#!/usr/bin/env node
'use strict';
/**
 * Diagnostic, not part of `npm run bench`: where commitTree's time goes.
 * Times, on the generate bench's fixture (2,000 warm files, 32 in flight,
 * `sync` before each step, steps alternated over rounds, medians), each
 * file-system step commitTree performs per file, on its own, next to the
 * plain writeFile baseline and to commitTree itself.
 *
 *   node tools/bench/commit-phases.js [--rounds N] [--only substr,substr] [--dir DIR]
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { makeFixture } = require('./generate-bench');
const { summarize } = require('./stats');
const cleanup = require('./cleanup');

const core = require(path.resolve(__dirname, '..', '..', 'packages', 'core', 'dist'));
const fsp = fs.promises;
const C = 32;

function parse(argv) {
  const a = { rounds: 5, only: undefined, dir: os.tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') a.rounds = Number(argv[++i]);
    else if (argv[i] === '--only') a.only = argv[++i].split(',');
    else if (argv[i] === '--dir') a.dir = path.resolve(argv[++i]);
  }
  return a;
}

async function main() {
  const args = parse(process.argv.slice(2));
  const fx = makeFixture({ files: 2000, dirs: 20, minBytes: 1024, maxBytes: 65536, seed: 20261123 });
  const base = cleanup.track(fs.mkdtempSync(path.join(args.dir, 'lockstep-phases-')));
  // ONE tree for every step, in the same directories (on ext4 without a journal the cost of a
  // create depends on the directory's block group and its recent deletions); `cur` is the content
  // on disk, `next()` flips it for the steps that rewrite every file
  const r = path.join(base, 'out');
  for (const d of fx.dirs) fs.mkdirSync(path.join(r, d), { recursive: true });
  await core.mapLimit(fx.entries, C, (e) => fsp.writeFile(path.join(r, e.path), e.a));
  let cur = 'a';
  const next = () => (cur = cur === 'a' ? 'b' : 'a');
  const input = (w) => (w === 'a' ? fx.commitA : fx.commitB);
  const each = (fn) => core.mapLimit(fx.entries, C, (e) => fn(path.join(r, e.path), e));

  const steps = {
    // --- baseline
    'plain writeFile (baseline)': async () => {
      const w = next();
      await each((p, e) => fsp.writeFile(p, e[w]));
    },
    // --- commitTree's per-file steps on their own
    'lstat': () => each((p) => fsp.lstat(p)),
    'realpath(dirname) [assertNoSymlinkEscape]': () => each((p) => fsp.realpath(path.dirname(p))),
    'mkdir(dirname, recursive) [ensureParentDir]': () => each((p) => fsp.mkdir(path.dirname(p), { recursive: true })),
    'readFile': () => each((p) => fsp.readFile(p)),
    'lstat + readFile + compare [sameBytes]': () =>
      each(async (p, e) => {
        const st = await fsp.lstat(p);
        if (st.size === e[cur].length) Buffer.compare(await fsp.readFile(p), e[cur]);
      }),
    'temp write + rename [writeFileAtomicFast] = atomic-replace floor': async () => {
      const w = next();
      await each((p, e) => core.writeFileAtomicFast(p, e[w]));
    },
    // --- commitTree as shipped
    'commitTree changed': () => core.commitTree(r, input(next())),
    'commitTree unchanged': () => core.commitTree(r, input(cur)),
  };
  const names = Object.keys(steps).filter((n) => !args.only || args.only.some((o) => n.includes(o)));
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  try {
    for (const n of names) await steps[n](); // warm-up
    for (let r = 0; r < args.rounds; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      for (const n of order) {
        execFileSync('sync');
        const t0 = performance.now();
        await steps[n]();
        samples[n].push(performance.now() - t0);
      }
      process.stderr.write(`round ${r + 1}/${args.rounds}\n`);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const plain = summarize(samples[names[0]]).median;
  console.log(`| step (2,000 files in ${args.dir}, ${C} in flight, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, ${args.rounds} rounds) | median | min | × plain |`);
  console.log('| --- | ---: | ---: | ---: |');
  for (const n of names) {
    const s = summarize(samples[n]);
    console.log(`| ${n} | ${s.median.toFixed(0)} ms | ${s.min.toFixed(0)} ms | ${(s.median / plain).toFixed(2)}x |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
