'use strict';
/**
 * PROTOTYPE of a change proposed for packages/core/src/publish/run-publish.ts
 * (used by publish-bench.js to measure it; not a library, not used by the
 * product). Same building blocks and journal transitions as runPublish, two
 * scheduling changes:
 *
 *  1. The registry pre-check (getPublished) of every package starts at once,
 *     `precheckParallel` reads in flight, outside the publish slots: it does
 *     not depend on the dependencies, so it need not sit on the critical path.
 *  2. A publish slot (maxConcurrency of them) covers pack + upload only: the
 *     tarball is held while its upload is in flight, as before, but the
 *     verify polling (waitUntilVisible) runs after the slot is released.
 *     Dependents still start only once a package is verified (G1 holds:
 *     nothing is uploaded before its in-run dependencies are visible with the
 *     expected integrity).
 *
 * A version found by the pre-check is skipped as runPublish does (integrity
 * compared after packing); an upload that meets a version published since
 * the pre-check is settled by the client's conflict handling (409/403 →
 * re-read, same integrity → already-published, else EVERSIONEXISTS).
 * Failures block dependents only. Dry run, per-task `only` and shouldStop
 * are left out of the prototype.
 *
 * `precheckAhead: false` keeps the pre-check inside the slot and
 * `verifyOutsideSlot: false` keeps the verify inside it (both false is
 * runPublish's scheduling), so each change can be measured on its own.
 */
const { performance } = require('perf_hooks');

async function protoPublish(core, options) {
  const { packages, registry, journal, pack, maxConcurrency, precheckParallel = 16, verifyTimeoutMs, tag = 'latest', precheckAhead = true, verifyOutsideSlot = true } = options;
  const started = performance.now();
  const plan = core.planLevels(packages.map((p) => ({ name: p.name, deps: p.internalDeps })));
  const byName = new Map(packages.map((p) => [p.name, p]));
  const releaseVersions = new Map(packages.map((p) => [p.name, p.version]));
  const level = (name) => plan.levels.get(name) ?? 0;
  const record = (name, status, patch = {}) => journal.transition(name, status, { level: level(name), ...patch });

  // 1. pre-checks for everything, bounded, started now
  const prechecks = new Map();
  let next = 0;
  const order = plan.byLevel.flat();
  const precheckWorker = async () => {
    while (next < order.length) {
      const name = order[next++];
      const pkg = byName.get(name);
      const p = registry.getPublished(name, pkg.version);
      prechecks.set(name, p);
      await p.catch(() => undefined);
    }
  };
  // Each package awaits its own pre-check; one not yet issued is issued on demand.
  const precheckOf = (name) => {
    if (!prechecks.has(name)) prechecks.set(name, registry.getPublished(name, byName.get(name).version));
    return prechecks.get(name);
  };
  const precheckPool = precheckAhead ? Promise.all(Array.from({ length: Math.min(precheckParallel, order.length) }, precheckWorker)) : Promise.resolve();

  // 2. slots for pack + upload
  let free = Math.max(1, maxConcurrency);
  const waiting = [];
  const acquire = () => (free > 0 ? (free--, Promise.resolve()) : new Promise((resolve) => waiting.push(resolve)));
  const release = () => (waiting.length ? waiting.shift()() : free++);

  const results = new Map();
  const publishOne = async (pkg) => {
    const t0 = performance.now();
    const existing = precheckAhead ? await precheckOf(pkg.name) : undefined;
    await acquire();
    let packed;
    let outcome;
    let held = true;
    try {
      await record(pkg.name, 'packing');
      packed = await pack(pkg, releaseVersions);
      const found = precheckAhead ? existing : await registry.getPublished(pkg.name, pkg.version);
      if (found) {
        if (found.integrity !== packed.integrity) throw new Error(`${pkg.name}@${pkg.version} exists with other content`);
        await registry.ensureDistTag(pkg.name, pkg.version, tag);
        await record(pkg.name, 'skipped', { integrity: packed.integrity, skippedReason: 'already on the registry' });
        results.set(pkg.name, { status: 'skipped', durationMs: performance.now() - t0 });
        return true;
      }
      await record(pkg.name, 'publishing', { integrity: packed.integrity });
      outcome = await registry.publish(packed.manifest, packed.tarball, { tag, integrity: packed.integrity });
      packed.tarball = Buffer.alloc(0);
      if (verifyOutsideSlot) {
        held = false;
        release();
      }
      await record(pkg.name, 'verifying', { integrity: packed.integrity });
      await registry.waitUntilVisible(pkg.name, pkg.version, packed.integrity, { timeoutMs: verifyTimeoutMs });
    } finally {
      if (held) release();
    }
    await record(pkg.name, outcome === 'already-published' ? 'skipped' : 'published', { integrity: packed.integrity });
    results.set(pkg.name, { status: outcome === 'already-published' ? 'skipped' : 'published', durationMs: performance.now() - t0 });
    return true;
  };

  // dependency-driven, no level barrier (as runScheduled)
  const waitingOn = new Map([...plan.deps].map(([name, deps]) => [name, deps.length]));
  const running = new Set();
  const start = (name) => {
    const job = publishOne(byName.get(name))
      .catch((error) => {
        results.set(name, { status: 'failed', error: String(error && error.message) });
        return false;
      })
      .then((ok) => {
        running.delete(job);
        if (!ok) return;
        for (const dependent of plan.dependents.get(name) ?? []) {
          const left = waitingOn.get(dependent) - 1;
          waitingOn.set(dependent, left);
          if (left === 0) start(dependent);
        }
      });
    running.add(job);
  };
  for (const [name, count] of waitingOn) if (count === 0) start(name);
  while (running.size) await Promise.race(running);
  await precheckPool;
  const counts = { published: 0, skipped: 0, failed: 0, blocked: 0 };
  for (const r of results.values()) counts[r.status]++;
  counts.blocked = packages.length - results.size;
  return { ok: counts.failed === 0 && counts.blocked === 0, durationMs: performance.now() - started, counts, packages: [...results].map(([name, r]) => ({ name, ...r })) };
}

module.exports = { protoPublish };
