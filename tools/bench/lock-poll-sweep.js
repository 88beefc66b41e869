#!/usr/bin/env node
'use strict';
/**
 * Diagnostic, not part of `npm run bench`: handoff latency and the CPU a queued
 * waiter burns, for several values of acquireLock's pollMs (an AcquireOptions
 * field, so no change to packages/ is needed to measure it).
 *
 *   node tools/bench/lock-poll-sweep.js [--handoffs N] [--polls 1,2,5,10,20,50] [--lock-root DIR]
 */
const path = require('path');
const { runHandoff } = require('./lock-bench');

const coreDir = path.resolve(__dirname, '..', '..', 'packages', 'core', 'dist');
const core = require(coreDir);

async function main() {
  let handoffs = 40;
  let polls = [1, 2, 5, 10, 20, 50];
  let lockRoot = require('os').tmpdir();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--handoffs') handoffs = Number(argv[++i]);
    else if (argv[i] === '--polls') polls = argv[++i].split(',').map(Number);
    else if (argv[i] === '--lock-root') lockRoot = path.resolve(argv[++i]);
  }
  console.log(`lock dirs under ${lockRoot}\n`);
  console.log(`| pollMs | handoff median | handoff p95 | waiter CPU while queued (2 s wait) |`);
  console.log('| ---: | ---: | ---: | ---: |');
  for (const pollMs of polls) {
    const h = await runHandoff(core, coreDir, { handoffs, warmup: 3, seed: 7, pollMs, idleWaitMs: 2000, lockRoot });
    console.log(
      `| ${pollMs} | ${h.summary.median.toFixed(2)} ms | ${h.summary.p95.toFixed(2)} ms | ${h.idleWait.cpuMsPerSecond.toFixed(0)} ms/s (${(h.idleWait.cpuMsPerSecond / 10).toFixed(0)} % of a core) |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
