'use strict';
/**
 * Lock benchmarks for @lockstep/core's acquireLock.
 *
 * uncontended: acquire + release of one key in this process, lock state in a
 *   fresh 0700 temp dir, after a warm-up; acquire and release are also timed
 *   on their own.
 * handoff: two forked processes share a key and take turns. The holder holds,
 *   the other one is told to acquire and reports (onWait) once it is queued;
 *   after a pseudo-random 5–25 ms (so the release lands at a random phase of
 *   the waiter's poll) the holder stamps the time immediately before
 *   release(), and the waiter stamps it immediately after its acquireLock
 *   resolves. handoff = waiter stamp − holder stamp, both
 *   performance.timeOrigin + performance.now(). The roles then swap. The
 *   processes' clocks are cross-checked against the parent's by ping
 *   (offset of the min-RTT sample) and the skew is reported.
 *   Last, one waiter stays queued for 2 s and reports the CPU time its
 *   acquireLock spent: the cost of waiting.
 * Both use acquireLock's defaults (pollMs, staleMs, heartbeat).
 */
const { fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { mulberry32 } = require('./prng');
const { summarize } = require('./stats');
const cleanup = require('./cleanup');

const now = () => performance.timeOrigin + performance.now();
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

function privateTempDir(prefix, root = os.tmpdir()) {
  const dir = cleanup.track(fs.mkdtempSync(path.join(root, prefix)));
  fs.chmodSync(dir, 0o700);
  return dir;
}

async function runUncontended(core, { iterations, warmup }) {
  const lockDir = privateTempDir('lockstep-bench-lock-');
  const key = 'bench:uncontended';
  const total = [];
  const acquire = [];
  const release = [];
  try {
    for (let i = 0; i < warmup + iterations; i++) {
      const t0 = performance.now();
      const h = await core.acquireLock(key, { lockDir });
      const t1 = performance.now();
      const ok = await h.release();
      const t2 = performance.now();
      if (!ok) throw new Error('bench self-check failed: release() returned false');
      if (i >= warmup) {
        total.push(t2 - t0);
        acquire.push(t1 - t0);
        release.push(t2 - t1);
      }
    }
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
    cleanup.untrack(lockDir);
  }
  return { iterations, warmup, samplesMs: total, summary: summarize(total), acquire: summarize(acquire), release: summarize(release) };
}

/** A forked lock-child.js with a promise-based "next message of type T". */
function spawnChild(coreDir, lockDir, key, name) {
  const child = fork(path.join(__dirname, 'lock-child.js'), [coreDir, lockDir, key], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox = [];
  const waiters = [];
  let failure;
  child.on('message', (msg) => {
    if (msg.type === 'error') failure = new Error(`${name}: ${msg.message}`);
    const i = waiters.findIndex((w) => w.type === msg.type || msg.type === 'error');
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
    else inbox.push(msg);
  });
  child.on('exit', (code, signal) => {
    failure ??= new Error(`${name} exited (${signal ?? code})`);
    for (const w of waiters.splice(0)) w.resolve({ type: 'error' });
  });
  const next = (type, timeoutMs = 10_000) => {
    const i = inbox.findIndex((m) => m.type === type || m.type === 'error');
    const p = i >= 0 ? Promise.resolve(inbox.splice(i, 1)[0]) : new Promise((resolve) => waiters.push({ type, resolve }));
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name}: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([p, timeout]).then((msg) => {
      clearTimeout(timer);
      if (msg.type === 'error') throw failure ?? new Error(`${name} failed`);
      return msg;
    });
  };
  return { name, child, next, send: (m) => child.send(m), pid: child.pid };
}

/** Offset of the child's clock relative to ours (child − parent), from the ping with the smallest round trip. */
async function clockOffset(proc, pings = 30) {
  let best;
  for (let i = 0; i < pings; i++) {
    const sent = now();
    proc.send({ cmd: 'ping' });
    const { t } = await proc.next('pong');
    const back = now();
    const rtt = back - sent;
    if (!best || rtt < best.rttMs) best = { rttMs: rtt, offsetMs: t - (sent + back) / 2 };
  }
  return best;
}

async function runHandoff(core, coreDir, { handoffs, warmup, seed, pollMs, idleWaitMs = 2000, lockRoot }) {
  const lockDir = privateTempDir('lockstep-bench-handoff-', lockRoot);
  const key = 'bench:handoff';
  const procs = [spawnChild(coreDir, lockDir, key, 'child-A'), spawnChild(coreDir, lockDir, key, 'child-B')];
  const rng = mulberry32(seed);
  const handoffMs = [];
  const releaseMs = [];
  const queuedBeforeReleaseMs = [];
  let clocks;
  let idleWait;
  try {
    await Promise.all(procs.map((p) => p.next('ready')));
    const offsets = [];
    for (const p of procs) offsets.push(await clockOffset(p));
    clocks = {
      offsetsMs: offsets.map((o) => o.offsetMs),
      pingRttMs: offsets.map((o) => o.rttMs),
      // what a handoff figure may be off by because the two clocks disagree
      skewMs: offsets[1].offsetMs - offsets[0].offsetMs,
      uncertaintyMs: (offsets[0].rttMs + offsets[1].rttMs) / 2,
    };

    let holder = procs[0];
    let waiter = procs[1];
    holder.send({ cmd: 'acquire' });
    await holder.next('acquired');
    for (let i = 0; i < warmup + handoffs; i++) {
      waiter.send({ cmd: 'acquire', pollMs });
      const queued = await waiter.next('queued');
      await delay(rng.int(5, 25));
      holder.send({ cmd: 'release' });
      const [released, acquired] = await Promise.all([holder.next('released'), waiter.next('acquired')]);
      if (!released.ok) throw new Error('bench self-check failed: the holder lost the lock before releasing it');
      if (!acquired.queued) throw new Error('bench self-check failed: the waiter was not queued');
      if (i >= warmup) {
        handoffMs.push(acquired.t - released.t0);
        releaseMs.push(released.t1 - released.t0);
        queuedBeforeReleaseMs.push(released.t0 - queued.t);
      }
      [holder, waiter] = [waiter, holder];
    }
    if (idleWaitMs > 0) {
      // what a queued waiter costs while it waits: its CPU time over a long wait
      waiter.send({ cmd: 'acquire', pollMs });
      await waiter.next('queued');
      await delay(idleWaitMs);
      holder.send({ cmd: 'release' });
      const [, acquired] = await Promise.all([holder.next('released'), waiter.next('acquired')]);
      idleWait = { waitedMs: acquired.waitedMs, cpuMs: acquired.cpuMs, cpuMsPerSecond: (acquired.cpuMs / acquired.waitedMs) * 1000 };
      [holder, waiter] = [waiter, holder];
    }
    holder.send({ cmd: 'release' });
    await holder.next('released');
  } finally {
    for (const p of procs) {
      if (p.child.connected) p.child.disconnect();
    }
    await Promise.all(procs.map((p) => (p.child.exitCode !== null || p.child.signalCode !== null ? undefined : new Promise((r) => p.child.once('exit', r)))));
    fs.rmSync(lockDir, { recursive: true, force: true });
    cleanup.untrack(lockDir);
  }
  return {
    handoffs,
    warmup,
    samplesMs: handoffMs,
    summary: summarize(handoffMs),
    releaseCallMs: summarize(releaseMs),
    waiterQueuedBeforeReleaseMs: summarize(queuedBeforeReleaseMs),
    pollMs: pollMs ?? 'default (5)',
    idleWait,
    clocks,
  };
}

async function runLockBench(core, coreDir, opts = {}) {
  const o = { iterations: 300, warmup: 20, handoffs: 60, handoffWarmup: 3, seed: 7, ...opts };
  const uncontended = await runUncontended(core, { iterations: o.iterations, warmup: o.warmup });
  const handoff = await runHandoff(core, coreDir, { handoffs: o.handoffs, warmup: o.handoffWarmup, seed: o.seed, pollMs: o.pollMs });
  return { config: { ...o, acquireOptions: 'defaults (pollMs, staleMs, heartbeatMs) + a fresh 0700 lockDir' }, uncontended, handoff };
}

module.exports = { runLockBench, runHandoff };
