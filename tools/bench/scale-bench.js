'use strict';
/**
 * Publish at scale (budgets: 2,000 packages planned (graph, levels,
 * registry pre-check with bounded parallel reads) in under 10 s against a
 * local registry; peak RSS under 300 MiB; publish-report.js).
 *
 * Set-up (not timed): 2,000 package folders (10 levels of 200, each package
 * depending on 2–3 of the level below) and a Verdaccio with nothing of them
 * published. Then a forked child (scale-child.js) measures, in one process:
 *   planning = the run's packages built in memory + planLevels + a registry
 *              client + getPublished for every package, `precheckParallel`
 *              in flight (core's mapLimit), straight to Verdaccio;
 *   dry run  = publishPackages without a registry (plans and packs every package);
 * and its peak RSS (process.resourceUsage().maxRSS) after each step. The
 * child is run `reps` times (each a fresh process) and the median is kept.
 */
const { fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { startRegistry } = require('../registry/verdaccio');
const { layeredGraph, writePackages, npmrcText, REPO_ROOT } = require('./publish-fixture');
const { summarize } = require('./stats');

const CHILD = path.join(__dirname, 'scale-child.js');
const DEFAULTS = { levels: 10, perLevel: 200, precheckParallel: 16, concurrency: 4, reps: 1, seed: 11 };

function runChild(args, env) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = fork(CHILD, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] });
    let message;
    child.on('message', (m) => {
      message = m;
      child.disconnect();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!message) return reject(new Error(`scale-child exited (${code ?? signal}) without an answer`));
      if (message.error) return reject(new Error(`scale-child failed: ${message.error}`));
      resolve({ ...message, processMs: performance.now() - t });
    });
  });
}

async function runScaleBench(options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const log = opts.log || (() => {});
  const base = fs.mkdtempSync(path.join(opts.dir || os.tmpdir(), 'lockstep-scale-bench-'));
  let registry;
  const results = { config: { ...opts, log: undefined, registry: undefined, base, packages: opts.levels * opts.perLevel }, runs: [] };
  try {
    const t0 = performance.now();
    registry = opts.registry || (await startRegistry());
    const graph = layeredGraph({ levels: opts.levels, perLevel: opts.perLevel, seed: opts.seed, scope: 'lsb-scale' });
    const ws = path.join(base, 'ws');
    const version = '1.0.0';
    fs.mkdirSync(ws, { recursive: true });
    fs.writeFileSync(path.join(ws, 'package.json'), JSON.stringify({ name: 'scale-ws', private: true, workspaces: ['packages/*'] }, null, 2));
    fs.writeFileSync(path.join(ws, '.npmrc'), npmrcText(registry.url, registry.token), { mode: 0o600 });
    writePackages(ws, graph, version);
    const graphFile = path.join(base, 'graph.json');
    fs.writeFileSync(graphFile, JSON.stringify({ version, nodes: graph.nodes }));
    results.config.setupMs = performance.now() - t0;
    log(`scale: ${graph.count} packages written in ${results.config.setupMs.toFixed(0)} ms`);

    const env = { ...process.env, NPM_CONFIG_USERCONFIG: path.join(base, 'npmrc') };
    fs.writeFileSync(env.NPM_CONFIG_USERCONFIG, npmrcText(registry.url, registry.token), { mode: 0o600 });
    delete env.NODE_OPTIONS;
    const coreDir = path.join(REPO_ROOT, 'packages', 'core', 'dist');
    const nxPublishDir = path.join(REPO_ROOT, 'packages', 'nx', 'dist', 'executors', 'publish');
    const childArgs = [coreDir, nxPublishDir, ws, graphFile, String(opts.precheckParallel), String(opts.concurrency)];
    for (let rep = 0; rep < opts.reps; rep++) {
      const r = await runChild(childArgs, env);
      results.runs.push(r);
      log(
        `scale: planning ${(r.phases.planning / 1000).toFixed(2)} s (pre-check ${(r.phases.precheck / 1000).toFixed(2)} s, ${r.precheckCpuPerRequestMs.toFixed(2)} ms CPU per read), ` +
          `dry run ${(r.phases.dryRun / 1000).toFixed(1)} s, peak RSS ${(r.rss.afterDryRun / 1024).toFixed(0)} MiB`,
      );
    }
    const pick = (fn) => summarize(results.runs.map(fn));
    results.summary = {
      planningMs: pick((r) => r.phases.planning),
      precheckMs: pick((r) => r.phases.precheck),
      planLevelsMs: pick((r) => r.phases.planLevels),
      registryClientMs: pick((r) => r.phases.registryClient),
      readWorkspacePackagesMs: pick((r) => r.phases.readWorkspacePackages),
      dryRunMs: pick((r) => r.phases.dryRun),
      loadCoreMs: pick((r) => r.phases.loadCore),
      peakRssMiB: pick((r) => r.rss.afterDryRun / 1024),
      rssAfterPlanningMiB: pick((r) => r.rss.afterPlanning / 1024),
      rssAfterLoadMiB: pick((r) => r.rss.afterLoad / 1024),
      ok: results.runs.every((r) => r.counts.dryRunOk && r.counts.precheckFound === 0 && r.counts.discovered === graph.count),
    };
    results.summary.precheckCpuPerRequestMs = pick((r) => r.precheckCpuPerRequestMs);
    results.summary.heapAfterPlanningMiB = pick((r) => r.heapAfterPlanningMiB);
    return results;
  } finally {
    if (registry && !opts.registry) await registry.stop();
    if (!opts.keep) fs.rmSync(base, { recursive: true, force: true, maxRetries: 3 });
  }
}

module.exports = { runScaleBench, DEFAULTS };
