#!/usr/bin/env node
'use strict';
/**
 * First step of `npm run bench` (after `npm run build`): the generate and lock
 * budgets (report.js; the README's Benchmarks table). Prints a markdown table,
 * writes every raw figure to bench-results/bench-<date>.json, and exits 0 even
 * when a budget is missed (it says MISSED); it exits 1 only if the bench
 * itself fails.
 */
const USAGE = `Usage: node tools/bench/run.js [options]   (build first: npm run build)
  --only generate|lock   run one of the two benches (default both)
  --reps N               generate rounds (7; the definition asks for at least 5)
  --files N              generate files (2000)
  --dir DIR              where the generate trees go (os.tmpdir())
  --no-sync              no sync before each timed generate operation
  --handoffs N           lock handoffs between two processes (60; at least 30)
  --lock-iterations N    uncontended acquire + release (300; at least 200)
  --out DIR              where the raw figures go (bench-results/)`;
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { runGenerateBench } = require('./generate-bench');
const { runLockBench } = require('./lock-bench');
const { buildRows, notes, missed, BUDGETS } = require('./report');
const { repoRoot, environment, saveResults, markdownTable, busyWarning } = require('./common');
const { staleBuilds } = require('../scripts/workspace');

const coreDir = path.join(repoRoot, 'packages', 'core', 'dist');

function parseArgs(argv) {
  const args = { dir: os.tmpdir(), only: undefined, reps: 7, handoffs: 60, lockIterations: 300, files: 2000, sync: true, out: path.join(repoRoot, 'bench-results') };
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
    else if (a === '--dir') args.dir = path.resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (args.only && !['generate', 'lock'].includes(args.only)) throw new Error(`--only wants generate or lock, got '${args.only}'`);
  if (args.reps < 5) process.stderr.write(`warning: --reps ${args.reps} is below the 5 rounds the bench definition asks for\n`);
  if (args.lockIterations < 200) process.stderr.write(`warning: --lock-iterations ${args.lockIterations} is below the 200 the bench definition asks for\n`);
  if (args.handoffs < 30) process.stderr.write(`warning: --handoffs ${args.handoffs} is below the 30 the bench definition asks for\n`);
  return args;
}

/** Fails if core is not built; warns if its build is stale (the bench would measure old code). */
function checkDistFresh() {
  if (!fs.existsSync(path.join(coreDir, 'index.js'))) throw new Error(`${coreDir} is missing: run \`npm run build\` first`);
  const stale = staleBuilds(['packages/core']);
  if (stale.length) process.stderr.write(`warning: the build of ${stale.join(', ')} is stale: rebuild to bench the current code\n`);
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
      if ((real === m || real.startsWith(m.endsWith('/') ? m : `${m}/`)) && (!best || m.length > best.mount.length)) best = { device: line.split(' ')[0], mount: m, type, options: opts };
    }
    if (best && best.type === 'ext4') {
      // ext4 without a journal refuses to reuse inodes deleted in the last 60 s (300 s more while
      // the inode table block is dirty) and scans past each of them on every create (fs/ext4/ialloc.c,
      // recently_deleted()): temp-file + rename then costs far more than on a journaled ext4
      try {
        best.journal = fs.readFileSync(`/sys/fs/ext4/${path.basename(best.device)}/journal_task`, 'utf8').trim() !== '<none>';
      } catch {
        // unknown
      }
    }
    return best;
  } catch {
    return undefined;
  }
}

function describeFs(m) {
  if (!m) return '?';
  return m.journal === false ? `${m.type} (no journal)` : m.type;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const t0 = performance.now();
  const staleDist = checkDistFresh();
  const core = require(coreDir);
  const log = (s) => process.stderr.write(`${s}\n`);
  const results = { schemaVersion: 1, startedAt: startedAt.toISOString(), environment: environment({ benchDir: args.dir, benchDirFs: mountOf(args.dir) }), args, staleDist, budgets: BUDGETS };

  if (args.only !== 'lock') {
    log(`generate benchmark (${args.reps} rounds + 1 warm-up) …`);
    results.generate = await runGenerateBench(core, { dir: args.dir, files: args.files, reps: args.reps, sync: args.sync, log });
  }
  if (args.only !== 'generate') {
    if (results.generate) await new Promise((r) => setTimeout(r, 1000)); // let the generate bench's deletes settle
    log(`lock benchmark (${args.lockIterations} uncontended iterations, ${args.handoffs} handoffs) …`);
    results.lock = await runLockBench(core, coreDir, { iterations: args.lockIterations, handoffs: args.handoffs });
  }
  results.wallMs = performance.now() - t0;
  results.environment.loadavgAtEnd = os.loadavg();

  const rows = buildRows(results);
  results.table = rows;
  const miss = missed(rows);
  results.missed = miss;

  const file = saveResults(args.out, 'bench', startedAt, results);

  const out = [];
  out.push(`## lockstep bench — ${startedAt.toISOString()} (node ${process.version}, ${results.environment.cpus} CPUs, ${describeFs(results.environment.benchDirFs)} ${args.dir})`);
  out.push('');
  out.push(markdownTable(rows));
  out.push('');
  out.push(notes(results));
  if (results.generate && results.environment.benchDirFs?.journal === false) {
    out.push(
      `- note: ${args.dir} is on ${results.environment.benchDirFs.device}, ext4 without a journal: it refuses to reuse inodes deleted in the last 60 s ` +
        `(longer while their inode table block is dirty) and scans past each one on every create, so every temp file commitTree creates costs more ` +
        `the more files were replaced recently; the plain in-place rewrite creates no inode. See tools/bench/commit-phases.js for the breakdown.`,
    );
  }
  const busy = busyWarning(results.environment.loadavgAtStart[0], 'when the bench started');
  if (busy) out.push(busy);
  out.push('');
  out.push(miss.length ? `MISSED ${miss.length} budget(s): ${miss.join('; ')}` : 'All budgets met.');
  out.push(`Raw figures: ${path.relative(process.cwd(), file) || file} (bench took ${(results.wallMs / 1000).toFixed(1)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error && error.stack) || error}\n`);
  process.exit(1);
});
