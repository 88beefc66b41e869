'use strict';
/**
 * One generated release workspace behind one fault proxy, where each run of a
 * tool gets a fresh Verdaccio (side-by-side.js, scale-publish.js):
 *
 *   const stage = await openStage({ levels: 6, perLevel: 10, core, log });
 *   const run = await stage.run('batch', { faults: false });   // measured, verified
 *   await stage.close();
 *
 * A run: start a fresh Verdaccio, point the proxy at it (+latency, faults
 * optional), write the workspace's and the user's .npmrc for its token, bump
 * every package to a fresh version and commit, then run the tool under
 * tree-usage.js (wall, CPU of its whole process tree, largest process's peak
 * RSS, optionally the whole tree's sampled peak RSS), read the registry
 * process's CPU before and after (/proc/<pid>/stat), compute the bound from
 * the proxy's log of that run (proxy-bound.js), verify what reached the
 * registry against local packs (verify-published.js), stop the registry.
 * A run that exits non-zero or fails verification is marked invalid.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startRegistry } = require('../registry/verdaccio');
const { startFaultProxy } = require('../registry/fault-proxy');
const { layeredGraph, setVersion, createNxWorkspace, writeNoopPlugin, commitAll, npmrcText, writeNpmrc, REPO_ROOT } = require('./publish-fixture');
const { runMeasured, procCpuMs } = require('./tree-usage');
const { boundFromProxy } = require('./proxy-bound');
const { verifyPublished, localPacks } = require('./verify-published');
const { NX_CHILD_SETTINGS } = require('../scripts/workspace');

const NX_BIN = path.join(REPO_ROOT, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');

/**
 * The tools a stage can run. `concurrency` is what the bound divides by;
 * `publishes: false` runs need no registry.
 */
function toolSpecs({ concurrency, lernaCli }) {
  const c = String(concurrency);
  return {
    lerna: { label: `Lerna publish from-package --concurrency ${c}`, command: lernaCli ? [lernaCli, 'publish', 'from-package', '--yes', '--concurrency', c] : undefined, publishes: true, lerna: true },
    batch: { label: `lockstep nx run-many -t publish --batch --maxConcurrency=${c}`, command: [NX_BIN, 'run-many', '-t', 'publish', '--batch', `--maxConcurrency=${c}`, '--skip-nx-cache'], publishes: true },
    default: { label: 'lockstep nx run-many -t publish (default settings: no flag, preferBatch)', command: [NX_BIN, 'run-many', '-t', 'publish', '--skip-nx-cache'], publishes: true },
    'per-task': { label: `lockstep per task: --batch=false --parallel=${c}`, command: [NX_BIN, 'run-many', '-t', 'publish', '--batch=false', `--parallel=${c}`, '--skip-nx-cache'], publishes: true },
    'noop-per-task': { label: `Nx alone: do-nothing executor per task, --parallel=${c} (per-task floor)`, command: [NX_BIN, 'run-many', '-t', 'noop-task', `--parallel=${c}`, '--skip-nx-cache'], publishes: false },
  };
}

async function openStage({ core, levels, perLevel, seed = 7, concurrency = 4, latencyMs = 100, retryAfterSeconds = 1, faultRate = 0.05, faults = ['429', '503'], lernaCli, sampleTree = false, keep = false, dir, log = () => {} }) {
  const base = fs.mkdtempSync(path.join(dir || os.tmpdir(), `lockstep-stage-${levels * perLevel}-`));
  const graph = layeredGraph({ levels, perLevel, seed });
  const logs = path.join(base, 'logs');
  fs.mkdirSync(logs);
  // The first registry only gives the proxy a target; each run starts its own.
  let registry = await startRegistry();
  const proxy = await startFaultProxy({ target: registry.url, latencyMs, retryAfterSeconds });
  await registry.stop();
  registry = undefined;
  const ws = path.join(base, 'ws');
  writeNoopPlugin(base);
  // No publish options in nx.json: 'default' runs the executor's own defaults; the others pass theirs as flags.
  createNxWorkspace(ws, graph, { version: '1.0.0', registryUrl: proxy.url, token: 'none-yet', publishOptions: {} });
  fs.writeFileSync(path.join(ws, 'lerna.json'), `${JSON.stringify({ $schema: 'node_modules/lerna/schemas/lerna-schema.json', version: 'independent', npmClient: 'npm' }, null, 2)}\n`);
  // .npmrc changes with every run's registry token: untracked, so Lerna's clean-tree check passes.
  fs.appendFileSync(path.join(ws, '.gitignore'), '.npmrc\n');
  execFileSync('git', ['rm', '-q', '--cached', '.npmrc'], { cwd: ws, stdio: 'ignore' });
  commitAll(ws, 'lerna.json');
  const lockDir = path.join(base, 'locks');
  fs.mkdirSync(lockDir, { mode: 0o700 });
  fs.chmodSync(lockDir, 0o700);
  const userconfig = path.join(base, 'npmrc');
  const specs = toolSpecs({ concurrency, lernaCli });

  const env = (variant, extra = {}) => {
    const e = { ...process.env };
    for (const key of Object.keys(e)) if (/^NX_/.test(key) || /^LOCKSTEP_/.test(key) || /^npm_/i.test(key) || key === 'NODE_OPTIONS') delete e[key];
    return {
      ...e,
      ...NX_CHILD_SETTINGS,
      NX_CACHE_DIRECTORY: path.join(ws, '.nx', 'cache'),
      // Lerna brings its own nx (another version): its own graph cache, so neither tool invalidates the other's.
      NX_WORKSPACE_DATA_DIRECTORY: path.join(ws, '.nx', variant === 'lerna' ? 'workspace-data-lerna' : 'workspace-data'),
      LOCKSTEP_LOCK_DIR: lockDir,
      NPM_CONFIG_USERCONFIG: userconfig,
      ...extra,
    };
  };

  let counter = 0;
  const packsByVersion = new Map();

  async function run(variant, { faults: withFaults = false, round = 0 } = {}) {
    const spec = specs[variant];
    if (!spec || !spec.command) throw new Error(`publish-stage: no tool '${variant}'${variant === 'lerna' ? ' (lerna is not installed)' : ''}`);
    const n = counter++;
    const version = `1.0.${n + 1}`;
    setVersion(ws, graph, version);
    commitAll(ws, `bench ${n} ${variant}`);
    let reg;
    if (spec.publishes) {
      reg = await startRegistry();
      proxy.setOptions({ target: reg.url });
      fs.writeFileSync(userconfig, npmrcText(proxy.url, reg.token), { mode: 0o600 });
      writeNpmrc(ws, proxy.url, reg.token);
    }
    proxy.setOptions(withFaults ? { faultRate, faults, seed: 1000 + n } : { faultRate: 0, seed: undefined });
    proxy.resetStats();
    const logFile = path.join(logs, `run-${n}-${variant}${withFaults ? '-faults' : ''}.log`);
    const record = { n, variant, round, faults: withFaults, version, packages: graph.count, load1: os.loadavg()[0] };
    try {
      const cpuBefore = reg ? procCpuMs(reg.pid) : NaN;
      const r = await runMeasured(process.execPath, spec.command, { cwd: ws, env: env(variant), logFile, sampleTree });
      const cpuAfter = reg ? procCpuMs(reg.pid) : NaN;
      Object.assign(record, {
        code: r.code,
        wallMs: r.wallMs,
        cpuMs: r.cpuMs,
        userMs: r.userMs,
        sysMs: r.sysMs,
        maxRssKiB: r.maxRssKiB,
        treePeakRssKiB: r.treePeakRssKiB,
        treePeakProcesses: r.treePeakProcesses,
        leftovers: r.leftovers,
        registryCpuMs: cpuAfter - cpuBefore,
        valid: r.code === 0,
      });
      if (r.code !== 0) record.problems = [`exit ${r.code ?? r.signal}: see ${logFile}`];
      if (spec.publishes) {
        const log = proxy.stats.log.map((e) => ({ ...e }));
        record.bound = boundFromProxy(log, graph, concurrency);
        record.faultsInjected = proxy.stats.faults;
        record.faultsByKind = { ...proxy.stats.faultsByKind };
        if (!packsByVersion.has(version)) {
          packsByVersion.clear();
          packsByVersion.set(version, await localPacks(core, ws, graph, version));
        }
        const packs = packsByVersion.get(version);
        const v = await verifyPublished({
          registry: reg,
          packages: graph.nodes.map((node) => ({ name: node.name, version, expected: packs.get(node.name) })),
          manifestExtras: spec.lerna ? ['gitHead'] : [],
        });
        record.verified = { ok: v.ok, checked: v.checked, sameBytes: v.sameBytes, problemCount: v.problemCount };
        if (!v.ok) {
          record.valid = false;
          record.problems = [...(record.problems || []), ...v.problems];
        }
      }
    } finally {
      if (reg) await reg.stop();
    }
    const secs = (v) => (v / 1000).toFixed(2);
    const ratio = record.bound ? `, ${(record.wallMs / record.bound.boundMs).toFixed(2)}x its bound ${secs(record.bound.boundMs)} s` : '';
    const fault = record.faultsInjected ? `, ${record.faultsInjected} faults` : '';
    log(`  ${variant}${withFaults ? ' (faults)' : ''}: ${record.valid ? '' : 'INVALID '}${secs(record.wallMs)} s wall, ${secs(record.cpuMs)} s CPU, registry ${secs(record.registryCpuMs || 0)} s CPU${ratio}${fault}${record.valid ? '' : ` — ${record.problems.join('; ')}`}`);
    return record;
  }

  /** Not recorded: warms the page cache, the graph caches and the JIT-free parts of each tool's start. */
  async function warmUp(variants) {
    await runMeasured(process.execPath, [NX_BIN, 'run-many', '-t', 'noop'], { cwd: ws, env: env('batch'), logFile: path.join(logs, 'warmup-nx.log') });
    if (variants.includes('lerna') && lernaCli) await runMeasured(process.execPath, [lernaCli, 'list'], { cwd: ws, env: env('lerna'), logFile: path.join(logs, 'warmup-lerna.log') });
  }

  async function close(failed) {
    await proxy.stop();
    if (!keep && !failed) fs.rmSync(base, { recursive: true, force: true, maxRetries: 3 });
    else log(`stage: kept ${base}`);
  }

  return { base, ws, graph, specs, run, warmUp, close, config: { levels, perLevel, packages: graph.count, edges: graph.nodes.reduce((a, x) => a + x.deps.length, 0), concurrency, latencyMs, faultRate, faults, retryAfterSeconds, base } };
}

module.exports = { openStage, toolSpecs, NX_BIN };
