#!/usr/bin/env node
'use strict';
/**
 * `npm run bench` (after `npm run build`): the generate and lock benchmarks of
 * PRODUCT.md's budgets. Prints a markdown table, writes every raw figure to
 * bench-results/bench-<date>.json, and exits 0 even when a budget is missed
 * (it says MISSED); it exits 1 only if the bench itself fails.
 *
 * Options: --only generate|lock   --reps N (generate rounds, default 7)
 *          --handoffs N (default 60)   --lock-iterations N (default 300)
 *          --files N (default 2000)   --no-sync   --out DIR
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { runGenerateBench } = require('./generate-bench');
const { runLockBench } = require('./lock-bench');
const { buildRows, markdownTable, notes, missed, BUDGETS } = require('./report');

const repoRoot = path.resolve(__dirname, '..', '..');
const coreDir = path.join(repoRoot, 'packages', 'core', 'dist');

function parseArgs(argv) {
  const args = { only: undefined, reps: 7, handoffs: 60, lockIterations: 300, files: 2000, sync: true, out: path.join(repoRoot, 'bench-results') };
  const int = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} wants a positive integer, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') args.only = argv[++i];
    else if (a === '--reps') args.reps = int(argv[++i], a);
    else if (a === '--handoffs') args.handoffs = int(argv[++i], a);
    else if (a === '--lock-iterations') args.lockIterations = int(argv[++i], a);
    else if (a === '--files') args.files = int(argv[++i], a);
    else if (a === '--no-sync') args.sync = false;
    else if (a === '--out') args.out = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  if (args.only && !['generate', 'lock'].includes(args.only)) throw new Error(`--only wants generate or lock, got '${args.only}'`);
  if (args.reps < 5) process.stderr.write(`warning: --reps ${args.reps} is below the 5 rounds the bench definition asks for\n`);
  if (args.handoffs < 30) process.stderr.write(`warning: --handoffs ${args.handoffs} is below the 30 the bench definition asks for\n`);
  return args;
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Warns if a core source file is newer than its compiled output: the bench would measure old code. */
function checkDistFresh() {
  const pairs = [
    ['atomic/commit-tree', 'commitTree'],
    ['atomic/write-fast', 'writeFileAtomicFast'],
    ['lock/lock', 'acquireLock'],
    ['lock/mutex', 'mutex'],
    ['lock/ticket-queue', 'ticket queue'],
  ];
  const stale = [];
  for (const [file] of pairs) {
    const src = path.join(repoRoot, 'packages', 'core', 'src', `${file}.ts`);
    const out = path.join(coreDir, `${file}.js`);
    if (!fs.existsSync(out)) throw new Error(`${out} is missing: run \`npm run build\` (or \`npx tsc -b packages/core\`) first`);
    if (fs.statSync(src).mtimeMs > fs.statSync(out).mtimeMs) stale.push(file);
  }
  if (stale.length) process.stderr.write(`warning: packages/core/dist is older than src for ${stale.join(', ')}: rebuild to bench the current code\n`);
  return stale;
}

/** The filesystem type and mount options of the mount holding `dir` (Linux /proc/mounts), for the record. */
function mountOf(dir) {
  try {
    const real = fs.realpathSync(dir);
    let best;
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mnt, type, opts] = line.split(' ');
      if (!mnt) continue;
      const m = mnt.replace(/\\040/g, ' ');
      if ((real === m || real.startsWith(m.endsWith('/') ? m : `${m}/`)) && (!best || m.length > best.mount.length)) best = { mount: m, type, options: opts };
    }
    return best;
  } catch {
    return undefined;
  }
}

function environment() {
  const cpus = os.cpus();
  const fsType = mountOf(os.tmpdir());
  return {
    node: process.version,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0] && cpus[0].model,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    tmpdir: os.tmpdir(),
    tmpdirFs: fsType,
    loadavgAtStart: os.loadavg(),
    commit: git(['rev-parse', 'HEAD']),
    dirty: (git(['status', '--porcelain']) || '').length > 0,
  };
}

function stamp(d) {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const t0 = performance.now();
  const staleDist = checkDistFresh();
  const core = require(coreDir);
  const log = (s) => process.stderr.write(`${s}\n`);
  const results = { schemaVersion: 1, startedAt: startedAt.toISOString(), environment: environment(), args, staleDist, budgets: BUDGETS };

  if (args.only !== 'lock') {
    log(`generate benchmark (${args.reps} rounds + 1 warm-up) …`);
    results.generate = await runGenerateBench(core, { files: args.files, reps: args.reps, sync: args.sync, log });
  }
  if (args.only !== 'generate') {
    log(`lock benchmark (${args.lockIterations} uncontended iterations, ${args.handoffs} handoffs) …`);
    results.lock = await runLockBench(core, coreDir, { iterations: args.lockIterations, handoffs: args.handoffs });
  }
  results.wallMs = performance.now() - t0;

  const rows = buildRows(results);
  results.table = rows;
  const miss = missed(rows);
  results.missed = miss;

  fs.mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, `bench-${stamp(startedAt)}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

  const out = [];
  out.push(`## lockstep bench — ${startedAt.toISOString()} (node ${process.version}, ${results.environment.cpus} CPUs, ${results.environment.tmpdirFs?.type ?? '?'} ${os.tmpdir()})`);
  out.push('');
  out.push(markdownTable(rows));
  out.push('');
  out.push(notes(results));
  out.push('');
  out.push(miss.length ? `MISSED ${miss.length} budget(s): ${miss.join('; ')}` : 'All budgets met.');
  out.push(`Raw figures: ${path.relative(process.cwd(), file) || file} (bench took ${(results.wallMs / 1000).toFixed(1)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error && error.stack) || error}\n`);
  process.exit(1);
});
