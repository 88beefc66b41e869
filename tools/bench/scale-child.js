'use strict';
/**
 * The measured process of scale-bench.js (forked, so its peak RSS is its
 * own): 2,000 packages planned, pre-checked against a local Verdaccio, and
 * dry-run. Not meant to be started by hand.
 *
 * argv: <coreDir> <nxPublishDir> <workspace> <graph.json> <precheckParallel> <concurrency>
 * The pre-check is the registry client's getPublished, then the dry run: the
 * product's path.
 * Answers one IPC message: { phases: {…ms}, rss: {…KiB}, counts } or { error }.
 */
const { performance } = require('perf_hooks');
const fs = require('fs');
const path = require('path');

const maxRssKiB = () => process.resourceUsage().maxRSS;

async function main() {
  const [coreDir, nxPublishDir, ws, graphFile, precheckArg, concurrencyArg] = process.argv.slice(2);
  const precheckParallel = Number(precheckArg);
  const concurrency = Number(concurrencyArg);
  const phases = {};
  const rss = { atStart: maxRssKiB() };
  const time = async (key, fn) => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      phases[key] = performance.now() - t;
    }
  };

  const core = await time('loadCore', () => require(coreDir));
  rss.afterLoad = maxRssKiB();
  const graph = JSON.parse(fs.readFileSync(graphFile, 'utf8'));

  // Planning: the run's packages built in memory (what readWorkspacePackages returns), levels, the registry pre-check.
  const tPlan = performance.now();
  const packages = await time('buildInput', () =>
    graph.nodes.map((n) => ({ name: n.name, version: graph.version, dir: path.join(ws, n.dir), private: false, internalDeps: [...n.deps], project: n.project })),
  );
  const plan = await time('planLevels', () => core.planLevels(packages.map((p) => ({ name: p.name, deps: p.internalDeps }))));
  const client = await time('registryClient', () => core.createRegistryClient({ cwd: ws, env: { ...process.env } }));
  let found = 0;
  const cpu = process.cpuUsage();
  await time('precheck', () =>
    core.mapLimit(packages, precheckParallel, async (p) => {
      if (await client.getPublished(p.name, p.version)) found++;
    }),
  );
  const used = process.cpuUsage(cpu);
  const precheckCpuPerRequestMs = (used.user + used.system) / 1000 / packages.length;
  phases.planning = performance.now() - tPlan;
  rss.afterPlanning = maxRssKiB();
  // What is still referenced after planning (the child runs with --expose-gc; maxRSS is read before this).
  if (typeof global.gc === 'function') global.gc();
  const heapAfterPlanningMiB = process.memoryUsage().heapUsed / 1048576;

  // For the record: the real discovery of the Nx adapter over the same folders (reads 2,000 package.json files).
  const { readWorkspacePackages } = require(path.join(nxPublishDir, 'workspace-packages.js'));
  const discovered = await time('readWorkspacePackages', () =>
    readWorkspacePackages(
      graph.nodes.map((n) => ({ name: n.project, root: n.dir })),
      ws,
      new Set(graph.nodes.map((n) => n.project)),
    ),
  );

  // Dry run: plan + pack every package, nothing remote.
  const releaseNames = new Set(packages.map((p) => p.name));
  let lines = 0;
  const summary = await time('dryRun', () =>
    core.publishPackages({
      packages,
      workspaceVersions: new Map(),
      pack: async (pkg, releaseVersions) => {
        const packed = await core.packPackage(pkg.dir, { releaseVersions, workspaceVersions: new Map(), workspaceRoot: ws });
        return { manifest: packed.manifest, tarball: packed.tarball, integrity: packed.integrity };
      },
      tag: 'latest',
      maxConcurrency: concurrency,
      verifyTimeoutMs: 60_000,
      log: () => {
        lines++;
      },
      redact: (s) => s,
    }),
  );
  rss.afterDryRun = maxRssKiB();
  process.send({
    phases,
    rss,
    precheckCpuPerRequestMs,
    heapAfterPlanningMiB,
    counts: {
      packages: packages.length,
      levels: plan.byLevel.length,
      criticalPath: plan.criticalPath.length,
      precheckFound: found,
      discovered: discovered.byProject.size,
      dryRun: summary.counts,
      dryRunOk: summary.ok && summary.counts.pending === releaseNames.size,
      logLines: lines,
    },
  });
}

main().catch((error) => {
  process.send({ error: String((error && error.stack) || error) });
});
