#!/usr/bin/env node
'use strict';
/**
 * Diagnostic, not part of `npm run bench`: handoff latency and the CPU a queued
 * waiter burns, for several values of acquireLock's pollMs (an AcquireOptions
 * field, so no change to packages/ is needed to measure it).
 *
 * Rows for acquireLock as shipped ("core") and for the waiting loop
 * prototyped in proto-lock.js ("proto-poll": look before taking;
 * "proto-watch": the same plus an fs.watch wake-up).
 *
 *   node tools/bench/lock-poll-sweep.js [--handoffs N] [--polls 1,2,5,10,20,50] [--impls core,proto-poll,proto-watch] [--lock-root DIR]
 */
const path = require('path');
const { runHandoff } = require('./lock-bench');

const coreDir = path.resolve(__dirname, '..', '..', 'packages', 'core', 'dist');
const core = require(coreDir);

async function main() {
  let handoffs = 40;
  let polls = [1, 2, 5, 10, 20, 50];
  let impls = ['core', 'proto-poll', 'proto-watch'];
  let lockRoot = require('os').tmpdir();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--handoffs') handoffs = Number(argv[++i]);
    else if (argv[i] === '--polls') polls = argv[++i].split(',').map(Number);
    else if (argv[i] === '--impls') impls = argv[++i].split(',');
    else if (argv[i] === '--lock-root') lockRoot = path.resolve(argv[++i]);
  }
  console.log(`lock dirs under ${lockRoot}\n`);
  console.log(`| waiting loop | pollMs | handoff median | handoff p95 | waiter CPU while queued (2 s wait) |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  // impls interleaved per pollMs, in a rotating order: every lock operation creates and deletes
  // inodes, and on some file systems that history makes later creates slower
  const rows = [];
  for (const [k, pollMs] of polls.entries()) {
    for (const impl of impls.map((_, i) => impls[(i + k) % impls.length])) {
      const h = await runHandoff(core, coreDir, { handoffs, warmup: 3, seed: 7, pollMs, idleWaitMs: 2000, impl, lockRoot });
      rows.push({ impl, pollMs, h });
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  rows.sort((a, b) => impls.indexOf(a.impl) - impls.indexOf(b.impl) || a.pollMs - b.pollMs);
  for (const { impl, pollMs, h } of rows) {
    console.log(
      `| ${impl} | ${pollMs} | ${h.summary.median.toFixed(2)} ms | ${h.summary.p95.toFixed(2)} ms | ${h.idleWait.cpuMsPerSecond.toFixed(0)} ms/s (${(h.idleWait.cpuMsPerSecond / 10).toFixed(0)} % of a core) |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
