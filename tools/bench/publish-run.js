#!/usr/bin/env node
'use strict';
/**
 * Second step of `npm run bench`: the publish, journal and scale budgets
 * (publish-report.js; the README's Benchmarks table). Build first
 * (`npm run build`):
 *   publish  60 packages through a +100 ms proxy: per-task, batch, batch with
 *            5 % 429/503, npm sequential, Nx no-ops, the unit and the bound
 *            (publish-bench.js)
 *   journal  cost per transition at 100 and 2,000 packages (journal-bench.js)
 *   scale    2,000 packages planned + pre-checked + dry-run, peak RSS
 *            (scale-bench.js)
 * Prints a markdown table and notes, writes every raw figure to
 * bench-results/publish-<date>.json, exits 0 even when a budget is missed
 * (the table says MISSED), 1 only if the bench itself fails. About 2–4 min
 * on 2 cores with the defaults (tools/bench/README.md).
 */
const USAGE = `Usage: node tools/bench/publish-run.js [options]   (build first: npm run build)
  --side-by-side         Lerna vs lockstep batch / default / per task (about 3 min)
  --scale                500 packages, faults at 60 and 500, peak RSS, journal (about 4–5 min)
  --only publish|journal|scale   run only these parts (repeatable; default all three,
                         or none when --side-by-side or --scale is given)
  --reps N               rounds of each mode (3)
  --baseline-reps N      rounds that also run npm sequential and the per-task no-op (1)
  --scale-reps N         child processes of the 2,000-package planning part (1)
  --keep                 keep the temp workspaces
  --out DIR              where the raw figures go (bench-results/)`;
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { runPublishBench } = require('./publish-bench');
const { runJournalBench } = require('./journal-bench');
const { runScaleBench } = require('./scale-bench');
const { runSideBySide } = require('./side-by-side');
const { runScalePublish } = require('./scale-publish');
const report = require('./publish-report');

const { buildPublishRows, publishNotes, missedPublish, borderlinePublish, PUBLISH_BUDGETS } = report;
const { repoRoot, environment, saveResults, markdownTable, busyWarning } = require('./common');
const { staleBuilds } = require('../scripts/workspace');

const coreDir = path.join(repoRoot, 'packages', 'core', 'dist');

function parseArgs(argv) {
  const args = { sideBySide: false, scale: false, only: [], reps: 3, baselineReps: 1, scaleReps: 1, keep: false, out: path.join(repoRoot, 'bench-results') };
  const int = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} wants a positive integer, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') args.only.push(argv[++i]);
    else if (a === '--side-by-side') args.sideBySide = true;
    else if (a === '--scale') args.scale = true;
    else if (a === '--reps') args.reps = int(argv[++i], a);
    else if (a === '--baseline-reps') args.baselineReps = int(argv[++i], a);
    else if (a === '--scale-reps') args.scaleReps = int(argv[++i], a);
    else if (a === '--keep') args.keep = true;
    else if (a === '--out') args.out = path.resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const o of args.only) if (!['publish', 'journal', 'scale'].includes(o)) throw new Error(`--only wants publish, journal or scale, got '${o}'`);
  if (args.reps < 3) process.stderr.write(`warning: --reps ${args.reps} is below the 3 medians the bench definition asks for\n`);
  return args;
}

/** Fails early if a package's dist is missing; warns if tsc would rebuild something. */
function checkBuild() {
  for (const rel of ['packages/core/dist/index.js', 'packages/nx/dist/executors/publish/batch.js', 'packages/nx/dist/executors/publish/executor.js']) {
    if (!fs.existsSync(path.join(repoRoot, rel))) throw new Error(`${rel} is missing: run \`npm run build\` first`);
  }
  const stale = staleBuilds(['packages/core', 'packages/nx']);
  if (stale.length) process.stderr.write(`warning: the build of ${stale.join(', ')} is stale: the bench measures the old code\n`);
  return stale;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const modes = args.sideBySide || args.scale;
  const want = (part) => (args.only.length === 0 ? !modes : args.only.includes(part));
  const startedAt = new Date();
  const t0 = performance.now();
  const staleBuild = checkBuild();
  const core = require(coreDir);
  const log = (s) => process.stderr.write(`${s}\n`);
  const results = {
    schemaVersion: 1,
    kind: 'publish',
    startedAt: startedAt.toISOString(),
    environment: environment(),
    args,
    staleBuild,
    budgets: PUBLISH_BUDGETS,
  };

  if (args.sideBySide) {
    log(`side-by-side benchmark (${args.reps} rounds) …`);
    results.sideBySide = await runSideBySide(core, { reps: args.reps, keep: args.keep, log });
  }
  if (args.scale) {
    log(`scale publish benchmark (${args.reps} rounds) …`);
    results.scalePublish = await runScalePublish(core, { reps: args.reps, keep: args.keep, log });
  }
  if (want('publish')) {
    log(`publish benchmark (${args.reps} rounds) …`);
    results.publish = await runPublishBench(core, { reps: args.reps, baselineReps: args.baselineReps, keep: args.keep, log });
  }
  if (want('journal')) {
    log('journal benchmark …');
    results.journal = await runJournalBench(core, { keep: args.keep, log });
  }
  if (want('scale')) {
    log('scale benchmark …');
    results.scale = await runScaleBench({ reps: args.scaleReps, keep: args.keep, log });
  }
  results.wallMs = performance.now() - t0;
  results.environment.loadavgAtEnd = os.loadavg();

  const rows = [
    ...(results.sideBySide ? report.buildSideBySideRows(results.sideBySide) : []),
    ...(results.scalePublish ? report.buildScalePublishRows(results.scalePublish) : []),
    ...buildPublishRows(results),
  ];
  results.table = rows;
  const miss = missedPublish(rows);
  results.missed = miss;
  const borderline = borderlinePublish(rows);
  results.borderline = borderline;

  const file = saveResults(args.out, 'publish', startedAt, results);

  const out = [];
  out.push(`## lockstep publish bench — ${startedAt.toISOString()} (node ${process.version}, ${results.environment.cpus} CPUs, load ${results.environment.loadavgAtStart.map((l) => l.toFixed(1)).join(' ')} at start, ${results.environment.loadavgAtEnd.map((l) => l.toFixed(1)).join(' ')} at end)`);
  out.push('');
  if (results.sideBySide) {
    out.push(report.sideBySideTable(results.sideBySide));
    out.push('');
  }
  out.push(markdownTable(rows));
  out.push('');
  if (results.sideBySide) out.push(report.sideBySideNotes(results.sideBySide));
  if (results.scalePublish) out.push(report.scalePublishNotes(results.scalePublish));
  const notes = publishNotes(results);
  if (notes) out.push(notes);
  const busy = busyWarning(Math.max(results.environment.loadavgAtStart[0], results.environment.loadavgAtEnd[0]), 'during the bench');
  if (busy) out.push(busy);
  for (const k of ['sideBySide', 'scalePublish']) if (results[k] && results[k].failed) out.push(`- warning: some ${k} runs were invalid; their logs were kept (see above).`);
  if (results.publish && results.publish.failed) out.push(`- warning: some runs were invalid; their logs are in ${results.publish.config.base}.`);
  out.push('');
  out.push(miss.length ? `MISSED ${miss.length} budget(s): ${miss.join('; ')}` : borderline.length ? 'No budget clearly missed.' : 'All budgets met.');
  if (borderline.length) out.push(`Borderline (the two readings disagree; re-run on a quieter machine): ${borderline.join('; ')}`);
  out.push(`Raw figures: ${path.relative(process.cwd(), file) || file} (bench took ${(results.wallMs / 1000).toFixed(1)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`publish bench failed: ${(error && error.stack) || error}\n`);
  process.exit(1);
});
