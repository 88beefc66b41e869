#!/usr/bin/env node
'use strict';
/**
 * Lease and group benchmarks (issue: concurrency groups, leases, the CLI).
 *
 * local acquire+release: LocalLeaseBackend on a fresh 0700 lock dir, one
 *   resource, after a warm-up.
 * git acquire+release: GitLeaseBackend in a clone of a bare repository on
 *   local disk (the cheapest remote there is: what is measured is lockstep's
 *   git round trips, not a network).
 * group handoff: a holder releases a concurrency group (acquireGroup, the
 *   core lock) while a waiter is queued; handoff = waiter's resolve stamp −
 *   holder's pre-release stamp. The waiter is a separate process, as in
 *   lock-bench.js.
 * git handoff: the same across two clones with a waiting acquire (waitMs),
 *   which polls the remote; in one process, both sides using real git.
 *
 * Last step of `npm run bench`; no budget (the figures are for the README).
 * Writes every raw figure to bench-results/lease-<date>.json (or --json FILE).
 */
const USAGE = `Usage: node tools/bench/lease-bench.js [options]   (build first: npm run build)
  --local N          local backend acquire+release iterations (300)
  --git N            git backend acquire+release iterations (30)
  --handoffs N       group handoffs to a queued waiter process (30)
  --git-handoffs N   git lease handoffs to a waiting acquire (10)
  --out DIR          where the raw figures go (bench-results/)
  --json FILE        write the raw figures to FILE instead`;
const { execFileSync, fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { summarize } = require('./stats');
const cleanup = require('./cleanup');
const { environment, repoRoot, saveResults } = require('./common');

const core = require(path.join(__dirname, '..', '..', 'packages', 'core', 'dist'));
const now = () => performance.timeOrigin + performance.now();
const { sleep: delay } = require(path.join(__dirname, '..', '..', 'packages', 'core', 'dist', 'util', 'sleep'));

function args(argv) {
  const out = { local: 300, git: 30, handoffs: 30, gitHandoffs: 10, json: undefined, out: path.join(repoRoot, 'bench-results') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--local') out.local = Number(argv[++i]);
    else if (a === '--git') out.git = Number(argv[++i]);
    else if (a === '--handoffs') out.handoffs = Number(argv[++i]);
    else if (a === '--git-handoffs') out.gitHandoffs = Number(argv[++i]);
    else if (a === '--json') out.json = path.resolve(argv[++i]);
    else if (a === '--out') out.out = path.resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return out;
}

function privateDir(prefix) {
  const dir = cleanup.track(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  fs.chmodSync(dir, 0o700);
  return dir;
}

function git(cwd, ...a) {
  return execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@lockstep.invalid', '-c', 'commit.gpgsign=false', ...a], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

/** A bare remote and `n` clones of it. */
function gitRemote(n) {
  const dir = privateDir('lockstep-bench-git-');
  const bare = path.join(dir, 'remote.git');
  git(dir, 'init', '-q', '--bare', bare);
  const clones = [];
  for (let i = 0; i < n; i++) {
    const clone = path.join(dir, `clone-${i}`);
    git(dir, 'clone', '-q', bare, clone);
    if (i === 0) {
      fs.writeFileSync(path.join(clone, 'README'), 'bench\n');
      git(clone, 'add', '-A');
      git(clone, 'commit', '-q', '-m', 'initial');
      git(clone, 'push', '-q', 'origin', 'HEAD');
    }
    clones.push(clone);
  }
  return clones;
}

async function acquireRelease(backend, resource, owner, iterations, warmup) {
  const totals = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = performance.now();
    await backend.acquire(resource, { owner, ttlMs: 60_000 });
    const { released } = await backend.release(resource, { owner });
    if (!released) throw new Error('bench self-check failed: release() returned released:false');
    if (i >= warmup) totals.push(performance.now() - t0);
  }
  return summarize(totals);
}

async function groupHandoff(rounds) {
  const lockDir = privateDir('lockstep-bench-group-');
  const child = fork(path.join(__dirname, 'lease-handoff-child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (msg) => new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
  const samples = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const handle = await core.acquireGroup({ group: 'bench', log: () => {}, lock: { lockDir } });
      const reply = ask({ op: 'acquire', lockDir });
      // wait until the child's ticket is queued
      for (let t = 0; t < 2000 && core.readGroupStatus({ group: 'bench', lockDir }).queue.length === 0; t++) await delay(1);
      await delay(5 + (i % 5) * 4);
      const releasedAt = now();
      await handle.release();
      const { acquiredAt } = await reply;
      samples.push(acquiredAt - releasedAt);
    }
  } finally {
    child.kill();
  }
  return summarize(samples);
}

async function gitHandoff(rounds) {
  const [a, b] = gitRemote(2);
  const holder = core.createLeaseBackend({ backend: 'git', cwd: a });
  const waiter = core.createLeaseBackend({ backend: 'git', cwd: b });
  const resource = core.parseResource('group:bench-handoff');
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    await holder.acquire(resource, { owner: 'holder', ttlMs: 60_000 });
    let queuedResolve;
    const queued = new Promise((r) => (queuedResolve = r));
    const waiting = waiter.acquire(resource, { owner: 'waiter', ttlMs: 60_000, waitMs: 30_000, onWait: () => queuedResolve() }).then(() => now());
    await queued;
    await delay(50 + (i % 5) * 37);
    const releasedAt = now();
    await holder.release(resource, { owner: 'holder' });
    samples.push((await waiting) - releasedAt);
    await waiter.release(resource, { owner: 'waiter' });
  }
  return summarize(samples);
}

async function main() {
  const opts = args(process.argv.slice(2));
  const startedAt = new Date();
  const results = {};
  const localDir = privateDir('lockstep-bench-lease-');
  const local = core.createLeaseBackend({ backend: 'local', lockDir: localDir });
  results.localAcquireRelease = await acquireRelease(local, core.parseResource('package:@bench/a'), 'bench@local', opts.local, 20);
  const [clone] = gitRemote(1);
  const gitBackend = core.createLeaseBackend({ backend: 'git', cwd: clone });
  results.gitAcquireRelease = await acquireRelease(gitBackend, core.parseResource('package:@bench/a'), 'bench@git', opts.git, 3);
  results.groupHandoff = await groupHandoff(opts.handoffs);
  results.gitHandoff = await gitHandoff(opts.gitHandoffs);
  const ms = (s) => `${s.median.toFixed(2)} ms (p95 ${s.p95.toFixed(2)}, n=${s.n})`;
  const rows = [
    ['lease, local backend: acquire+release, uncontended', ms(results.localAcquireRelease)],
    ['lease, git backend (bare remote on local disk): acquire+release, uncontended', ms(results.gitAcquireRelease)],
    ['group handoff to a queued waiter (local, another process)', ms(results.groupHandoff)],
    ['lease handoff to a waiting acquire, git backend', ms(results.gitHandoff)],
  ];
  console.log('\n| benchmark | median |\n|---|---|');
  for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
  const record = { schemaVersion: 1, kind: 'lease', startedAt: startedAt.toISOString(), environment: environment(), args: opts, results };
  if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(record, null, 2)}\n`);
  else console.log(`Raw figures: ${path.relative(process.cwd(), saveResults(opts.out, 'lease', startedAt, record))}`);
  return results;
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
