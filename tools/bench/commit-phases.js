#!/usr/bin/env node
'use strict';
/**
 * Diagnostic, not part of `npm run bench`: where commitTree's time goes.
 * Times, on the generate bench's fixture (2,000 warm files, 32 in flight,
 * `sync` before each step, steps alternated over rounds, medians), each
 * file-system step commitTree performs per file, on its own, next to the
 * plain writeFile baseline and to commitTree itself, plus the candidate
 * replacements proposed in the bench report (prototyped here, in tools/, not
 * in packages/).
 *
 *   node tools/bench/commit-phases.js [--rounds N] [--only name,name]
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { makeFixture } = require('./generate-bench');
const { summarize } = require('./stats');
const proto = require('./proto-commit');

const core = require(path.resolve(__dirname, '..', '..', 'packages', 'core', 'dist'));
const fsp = fs.promises;
const C = 32;

function parse(argv) {
  const a = { rounds: 5, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') a.rounds = Number(argv[++i]);
    else if (argv[i] === '--only') a.only = argv[++i].split(',');
  }
  return a;
}

async function main() {
  const args = parse(process.argv.slice(2));
  const fx = makeFixture({ files: 2000, dirs: 20, minBytes: 1024, maxBytes: 65536, seed: 20261123 });
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-phases-'));
  // one tree per step that rewrites (so "what is on disk" is known), one shared read-only tree
  const trees = {};
  const onDisk = {};
  const tree = async (name) => {
    if (!trees[name]) {
      trees[name] = path.join(base, name);
      for (const d of fx.dirs) fs.mkdirSync(path.join(trees[name], d), { recursive: true });
      await core.mapLimit(fx.entries, C, (e) => fsp.writeFile(path.join(trees[name], e.path), e.a));
      onDisk[name] = 'a';
    }
    return trees[name];
  };
  const flip = (name) => (onDisk[name] = onDisk[name] === 'a' ? 'b' : 'a');
  const each = (root, fn) => core.mapLimit(fx.entries, C, (e) => fn(path.join(root, e.path), e));

  const steps = {
    // --- baseline
    'plain writeFile (baseline)': async () => {
      const r = await tree('plain');
      const w = flip('plain');
      await each(r, (p, e) => fsp.writeFile(p, e[w]));
    },
    // --- commitTree's per-file steps on their own (read-only tree, content a)
    'lstat': async () => each(await tree('ro'), (p) => fsp.lstat(p)),
    'realpath(dirname) [assertNoSymlinkEscape]': async () => each(await tree('ro'), (p) => fsp.realpath(path.dirname(p))),
    'mkdir(dirname, recursive) [ensureParentDir]': async () => each(await tree('ro'), (p) => fsp.mkdir(path.dirname(p), { recursive: true })),
    'readFile': async () => each(await tree('ro'), (p) => fsp.readFile(p)),
    'lstat + readFile + compare [sameBytes]': async () =>
      each(await tree('ro'), async (p, e) => {
        const st = await fsp.lstat(p);
        if (st.size === e.a.length) Buffer.compare(await fsp.readFile(p), e.a);
      }),
    'temp write + rename [writeFileAtomicFast]': async () => {
      const r = await tree('atomic');
      const w = flip('atomic');
      await each(r, (p, e) => core.writeFileAtomicFast(p, e[w]));
    },
    'sweep walk + prune walk': async () => {
      const r = await tree('ro');
      await core.sweepTempFiles(r);
      await proto.pruneWalk(r, new Set(fx.entries.map((e) => e.path)));
    },
    // --- commitTree as shipped
    'commitTree changed': async () => {
      const r = await tree('ct-changed');
      const w = flip('ct-changed');
      await core.commitTree(r, w === 'a' ? fx.commitA : fx.commitB);
    },
    'commitTree unchanged': async () => core.commitTree(await tree('ct-unchanged'), fx.commitA),
    // --- candidates
    'proposed compare: open + read(size+1) + close': async () => each(await tree('ro'), (p, e) => proto.sameBytesOpenRead(p, e.a)),
    'proposed compare, sync on main thread': async () =>
      each(await tree('ro'), async (p, e) => {
        proto.sameBytesSync(p, e.a);
      }),
    'proposed commit changed': async () => {
      const r = await tree('p-changed');
      const w = flip('p-changed');
      await proto.commitTreeProposed(core, r, w === 'a' ? fx.commitA : fx.commitB);
    },
    'proposed commit unchanged': async () => proto.commitTreeProposed(core, await tree('p-unchanged'), fx.commitA),
    'proposed commit changed, sync compare': async () => {
      const r = await tree('ps-changed');
      const w = flip('ps-changed');
      await proto.commitTreeProposed(core, r, w === 'a' ? fx.commitA : fx.commitB, { syncCompare: true });
    },
    'proposed commit unchanged, sync compare': async () => proto.commitTreeProposed(core, await tree('ps-unchanged'), fx.commitA, { syncCompare: true }),
  };
  const names = Object.keys(steps).filter((n) => !args.only || args.only.some((o) => n.includes(o)));
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  try {
    for (const n of names) await steps[n](); // create trees + warm-up
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
  console.log(`| step (2,000 files, ${C} in flight, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}) | median | min | × plain |`);
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
