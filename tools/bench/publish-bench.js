'use strict';
/**
 * The publish benchmark (budgets in publish-report.js, the README's
 * Benchmarks table): a 60-package workspace (6 levels of 10, each package
 * depending on 2–3 of the level below) published through the fault proxy
 * (100 ms per request) to a real Verdaccio, at concurrency 4:
 *
 *   default       nx run-many -t publish (no flag: one batch, by preferBatch)
 *   per-task      nx run-many -t publish --batch=false --parallel=4
 *   batch         nx run-many -t publish --batch            (maxConcurrency 4)
 *   batch-faults  the same with 5 % of requests answered 429/503 (Retry-After: 1)
 *   npm           `npm publish` package by package in dependency order (the
 *                 baseline: what releasing without lockstep costs)
 *   nx-noop       nx run-many -t noop (nx:noop): Nx start-up + project graph
 *   noop-batch    nx run-many -t noop-task --batch: + the forked batch worker
 *   noop-per-task nx run-many -t noop-task --parallel=4: + one forked task
 *                 process per project (Nx's floor for per-task mode)
 *   core          publishPackages (core API) on the same 60 packages in this
 *                 process, no Nx: journal open + publish, what lockstep costs
 *   unit          publishPackages (core API, in this process) on a 1-package plan
 *                 through the same proxy: one pack + pre-check + upload +
 *                 verify, the unit of the bound
 *
 * bound = max(critical path × unit, packages × unit ÷ concurrency).
 * Every run publishes fresh versions (all 60 bumped and committed first), so
 * every run really uploads; a run whose uploads are not all there is marked
 * invalid. Variants alternate in a rotating order, a unit sample after each.
 *
 * Every Nx process runs with tools/bench/publish-probe.js preloaded, which
 * stamps process start, executor entry and exit on the proxy's clock: with
 * the proxy's request log that splits each run into Nx start-up, lockstep
 * set-up, registry traffic and tail (see analyse*()).
 */
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { startRegistry } = require('../registry/verdaccio');
const { startFaultProxy } = require('../registry/fault-proxy');
const { layeredGraph, writePackages, setVersion, createNxWorkspace, writeNoopPlugin, commitAll, npmrcText, REPO_ROOT } = require('./publish-fixture');
const { summarize, median } = require('./stats');
const { NX_CHILD_SETTINGS } = require('../scripts/workspace');

const NX_BIN = path.join(REPO_ROOT, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
const PROBE = path.join(__dirname, 'publish-probe.js');
const now = () => performance.timeOrigin + performance.now();

const DEFAULTS = {
  reps: 3,
  /** Rounds that also run the slow references (npm sequential ≈ 1 min, no-op per-task ≈ 20 s). */
  baselineReps: 1,
  levels: 6,
  perLevel: 10,
  concurrency: 4,
  latencyMs: 100,
  faultRate: 0.05,
  faults: ['429', '503'],
  retryAfterSeconds: 1,
  seed: 7,
  keep: false,
};

/** Runs a command; resolves { code, signal, output, start, end } (epoch ms on the proxy's clock). */
function runCommand(command, args, { cwd, env, logFile }) {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const end = now();
      const output = Buffer.concat(chunks).toString('utf8');
      if (logFile) fs.writeFileSync(logFile, output);
      resolve({ code, signal, output, start, end, ms: end - start });
    });
  });
}

function npmInvocation() {
  const cli = process.env.npm_execpath;
  if (cli && /npm-cli\.js$/.test(cli) && fs.existsSync(cli)) return { command: process.execPath, prefix: [cli] };
  return { command: 'npm', prefix: [] };
}

/** Package name of a registry request path (`/@scope%2fname`, `/-/…` → undefined). */
function nameOfPath(p) {
  const pathname = p.split('?')[0];
  if (pathname.startsWith('/-/')) return undefined;
  const decoded = decodeURIComponent(pathname.slice(1));
  const m = /^(@[^/]+\/[^/]+|[^@/][^/]*)/.exec(decoded);
  return m ? m[1] : undefined;
}

/** The last probe line of each pid. */
function readProbe(file) {
  const byPid = new Map();
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line);
      byPid.set(r.pid, { ...byPid.get(r.pid), ...r });
    } catch {
      // a torn line: ignore
    }
  }
  return [...byPid.values()];
}

const med = (values) => (values.length ? median(values) : NaN);
const round1 = (v) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : v);

/**
 * Registry traffic of a run, from the proxy log (times relative to `t0`).
 * Per uploaded package: its pre-check (the last GET before the upload), the
 * upload, the verify reads (GETs after the upload; `until(name)` bounds them
 * in per-task mode, where dependents read the package later to confirm it),
 * each as the proxy saw it (latency included), and the client-side gaps
 * between them (journal transitions, building the upload, …).
 */
function trafficOf(log, t0, until = () => Infinity) {
  const byName = new Map();
  let first = Infinity;
  let last = -Infinity;
  const methods = {};
  for (const r of log) {
    first = Math.min(first, r.start);
    last = Math.max(last, r.end ?? r.start);
    methods[r.method] = (methods[r.method] || 0) + 1;
    const name = nameOfPath(r.path);
    if (!name) continue;
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(r);
  }
  const per = { precheck: [], upload: [], verify: [], gapPrecheckToUpload: [], gapUploadToVerify: [], verifyReads: [] };
  for (const [name, reqs] of byName) {
    const ok = (r) => typeof r.status === 'number' && r.status < 300;
    const put = reqs.filter((r) => r.method === 'PUT' && ok(r)).pop();
    if (!put) continue;
    const pre = reqs.filter((r) => r.method === 'GET' && (r.end ?? r.start) <= put.start).pop();
    const verify = reqs.filter((r) => r.method === 'GET' && r.start >= put.end && r.start <= until(name));
    per.upload.push(put.end - put.start);
    per.verifyReads.push(verify.length);
    if (pre) {
      per.precheck.push(pre.end - pre.start);
      per.gapPrecheckToUpload.push(put.start - pre.end);
    }
    if (verify.length) {
      per.verify.push(verify[verify.length - 1].end - verify[0].start);
      per.gapUploadToVerify.push(verify[0].start - put.end);
    }
  }
  const medOf = (values) => round1(med(values));
  return {
    requests: log.length,
    methods,
    firstRequestMs: Number.isFinite(first) ? first - t0 : NaN,
    lastResponseMs: Number.isFinite(last) ? last - t0 : NaN,
    windowMs: Number.isFinite(first) ? last - first : NaN,
    packages: byName.size,
    perPackage: {
      precheck: medOf(per.precheck),
      upload: medOf(per.upload),
      verify: medOf(per.verify),
      gapPrecheckToUpload: medOf(per.gapPrecheckToUpload),
      gapUploadToVerify: medOf(per.gapUploadToVerify),
      verifyReads: medOf(per.verifyReads),
    },
    extraVerifyPolls: per.verifyReads.reduce((a, n) => a + Math.max(0, n - 1), 0),
  };
}

/**
 * Per-task mode: one forked process per task. For each publish task: node
 * boot, Nx's task bootstrap (run-executor until it loads the executor),
 * executor module load, the executor itself, split by the registry log into
 * set-up (before its first request), dependency confirmation + packing
 * (before its own package's first request), its own pre-check/upload/verify,
 * and the rest (journal/summary/lock after its last own response).
 */
function analysePerTask(probe, log, t0, target, graph) {
  const tasks = probe.filter((p) => p.target === target && p.execStart);
  const nodeOf = new Map(graph.nodes.map((n) => [n.project, n]));
  const rows = tasks.map((t) => {
    const node = nodeOf.get(t.project);
    const mine = new Set(node ? [node.name, ...node.deps] : []);
    // this task's requests: its own package's and its dependencies' (confirmations), inside its executor window
    const within = log.filter((r) => r.start >= t.execStart && (r.end ?? r.start) <= t.execEnd + 1 && mine.has(nameOfPath(r.path)));
    const own = within.filter((r) => node && nameOfPath(r.path) === node.name);
    const firstAny = within.length ? Math.min(...within.map((r) => r.start)) : NaN;
    const ownFirst = own.length ? Math.min(...own.map((r) => r.start)) : NaN;
    const ownLast = own.length ? Math.max(...own.map((r) => r.end ?? r.start)) : NaN;
    return {
      boot: t.preload - t.start,
      nxTaskInit: t.loadStart - t.preload,
      executorLoad: t.loaded - t.loadStart,
      exec: t.execEnd - t.execStart,
      execSetup: firstAny - t.execStart,
      confirmAndPack: ownFirst - firstAny,
      ownRegistry: ownLast - ownFirst,
      execTail: t.execEnd - ownLast,
      afterExec: (t.exit ?? t.execEnd) - t.execEnd,
      process: (t.exit ?? t.execEnd) - t.start,
      confirmReads: within.length - own.length,
      confirmSpan: own.length && within.length > own.length ? Math.max(...within.filter((r) => !own.includes(r)).map((r) => r.end ?? r.start)) - firstAny : 0,
    };
  });
  const out = { tasks: rows.length };
  for (const key of ['boot', 'nxTaskInit', 'executorLoad', 'exec', 'execSetup', 'confirmAndPack', 'confirmSpan', 'ownRegistry', 'execTail', 'afterExec', 'process', 'confirmReads']) {
    out[key] = round1(med(rows.map((r) => r[key]).filter(Number.isFinite)));
  }
  out.sumProcessMs = round1(rows.reduce((a, r) => a + (Number.isFinite(r.process) ? r.process : 0), 0));
  const starts = tasks.map((t) => t.start);
  const ends = tasks.map((t) => t.exit ?? t.execEnd);
  out.firstTaskStartMs = starts.length ? round1(Math.min(...starts) - t0) : NaN;
  out.lastTaskEndMs = ends.length ? round1(Math.max(...ends) - t0) : NaN;
  return out;
}

/** Batch mode: the Nx main process, the batch worker, and the executor's window split by the registry log. */
function analyseBatch(probe, log, t0, end) {
  const worker = probe.find((p) => p.execStart && /batch/.test(p.executor || ''));
  if (!worker) return undefined;
  const first = log.length ? Math.min(...log.map((r) => r.start)) : NaN;
  const last = log.length ? Math.max(...log.map((r) => r.end ?? r.start)) : NaN;
  return {
    nxUntilWorker: round1(worker.start - t0),
    workerBoot: round1(worker.preload - worker.start),
    nxBatchInit: round1(worker.loadStart - worker.preload),
    executorLoad: round1(worker.loaded - worker.loadStart),
    execStartMs: round1(worker.execStart - t0),
    exec: round1(worker.execEnd - worker.execStart),
    execSetup: round1(first - worker.execStart),
    registryWindow: round1(last - first),
    execTail: round1(worker.execEnd - last),
    nxTail: round1(end - worker.execEnd),
  };
}

/**
 * A RegistryPort over createRegistryClient, as the executor's
 * default-services builds it (publish with precheck: false, since publishPackages
 * has just asked), with every call timed into `phases`.
 */
function timedRegistry(client, registryUrl, phases) {
  const timed = (key, fn) => async (...args) => {
    const t = performance.now();
    try {
      return await fn(...args);
    } finally {
      phases[key] = (phases[key] || 0) + (performance.now() - t);
    }
  };
  return {
    registry: registryUrl,
    getPublished: timed('precheck', (n, v) => client.getPublished(n, v)),
    publish: timed('upload', (m, t, o) => client.publish(m, t, { ...o, precheck: false })),
    ensureDistTag: timed('distTag', (n, v, t) => client.ensureDistTag(n, v, t)),
    waitUntilVisible: timed('verify', (n, v, i, o) => client.waitUntilVisible(n, v, i, o)),
  };
}

async function runPublishBench(core, options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const log = opts.log || (() => {});
  const base = fs.mkdtempSync(path.join(opts.dir || os.tmpdir(), 'lockstep-publish-bench-'));
  const results = {
    config: {
      levels: opts.levels,
      perLevel: opts.perLevel,
      packages: opts.levels * opts.perLevel,
      concurrency: opts.concurrency,
      latencyMs: opts.latencyMs,
      faultRate: opts.faultRate,
      faults: opts.faults,
      retryAfterSeconds: opts.retryAfterSeconds,
      reps: opts.reps,
      baselineReps: opts.baselineReps,
      base,
    },
    runs: [],
    unit: { samples: [], phases: [], traffic: [] },
  };
  let registry;
  let proxy;
  let failed = false;
  try {
    const t0 = performance.now();
    registry = await startRegistry();
    proxy = await startFaultProxy({ target: registry.url, latencyMs: opts.latencyMs, retryAfterSeconds: opts.retryAfterSeconds });
    results.config.registryStartupMs = registry.startupMs;

    const graph = layeredGraph({ levels: opts.levels, perLevel: opts.perLevel, seed: opts.seed });
    results.config.edges = graph.nodes.reduce((a, n) => a + n.deps.length, 0);
    let versionCounter = 0;
    const nextVersion = () => `1.0.${versionCounter++}`;
    const ws = path.join(base, 'ws');
    writeNoopPlugin(base);
    createNxWorkspace(ws, graph, { version: nextVersion(), registryUrl: proxy.url, token: registry.token, publishOptions: { maxConcurrency: opts.concurrency } });
    const lockDir = path.join(base, 'locks');
    fs.mkdirSync(lockDir, { mode: 0o700 });
    fs.chmodSync(lockDir, 0o700);
    const userconfig = path.join(base, 'npmrc');
    fs.writeFileSync(userconfig, npmrcText(proxy.url, registry.token), { mode: 0o600 });
    const logs = path.join(base, 'logs');
    fs.mkdirSync(logs);

    const childEnv = (extra = {}) => {
      const env = { ...process.env };
      for (const key of Object.keys(env)) {
        if (/^NX_/.test(key) || /^LOCKSTEP_/.test(key) || /^npm_config_/i.test(key) || key === 'NODE_OPTIONS') delete env[key];
      }
      // Stricter than the demo's nxEnv: no NX_, LOCKSTEP_ or npm setting of the caller's shell may colour a measurement.
      return {
        ...env,
        ...NX_CHILD_SETTINGS,
        NX_CACHE_DIRECTORY: path.join(ws, '.nx', 'cache'),
        NX_WORKSPACE_DATA_DIRECTORY: path.join(ws, '.nx', 'workspace-data'),
        LOCKSTEP_LOCK_DIR: lockDir,
        NPM_CONFIG_USERCONFIG: userconfig,
        ...extra,
      };
    };
    results.config.setupMs = performance.now() - t0;

    // --- the unit: publishPackages on a 1-package plan through the proxy, in this process
    const unitRoot = path.join(base, 'unit');
    fs.mkdirSync(unitRoot);
    fs.writeFileSync(path.join(unitRoot, 'package.json'), JSON.stringify({ name: 'unit-root', private: true }));
    const client = await core.createRegistryClient({ cwd: ws, env: childEnv() });
    let unitCounter = 0;
    const level1 = graph.nodes.find((n) => n.level === 1);
    const unitSample = async (record = true) => {
      const k = unitCounter++;
      const node = { ...level1, name: `@lsb/unit-${k}`, project: `unit-${k}`, dir: `u${k}` };
      writePackages(unitRoot, { nodes: [node] }, '1.0.0');
      const pkg = { name: node.name, version: '1.0.0', dir: path.join(unitRoot, node.dir), private: false, internalDeps: [], project: node.project };
      const opened = await core.openJournal(path.join(base, 'unit-journal', String(k)), {
        runId: `unit-${k}`,
        sha: 'bench',
        target: 'publish',
        registry: proxy.url,
        packages: [{ name: pkg.name, version: pkg.version }],
        resume: 'fresh',
      });
      const phases = {};
      const timedJournal = {
        get: (n) => opened.journal.get(n),
        transition: async (...args) => {
          const t = performance.now();
          try {
            return await opened.journal.transition(...args);
          } finally {
            phases.journal = (phases.journal || 0) + (performance.now() - t);
          }
        },
      };
      proxy.setOptions({ faultRate: 0, seed: undefined });
      proxy.resetStats();
      const t = performance.now();
      const summary = await core.publishPackages({
        packages: [pkg],
        workspaceVersions: new Map(),
        pack: async (p, releaseVersions) => {
          const tp = performance.now();
          try {
            const packed = await core.packPackage(p.dir, { releaseVersions, workspaceVersions: new Map(), workspaceRoot: unitRoot });
            return { manifest: packed.manifest, tarball: packed.tarball, integrity: packed.integrity };
          } finally {
            phases.pack = performance.now() - tp;
          }
        },
        registry: timedRegistry(client, proxy.url, phases),
        journal: timedJournal,
        tag: 'latest',
        maxConcurrency: opts.concurrency,
        verifyTimeoutMs: 5 * 60_000,
        log: () => {},
        redact: (s) => s,
      });
      const ms = performance.now() - t;
      if (!summary.ok || summary.counts.published !== 1) throw new Error(`unit publish of ${pkg.name} failed: ${JSON.stringify(summary.packages)}`);
      phases.other = ms - Object.values(phases).reduce((a, b) => a + b, 0);
      if (record) {
        results.unit.samples.push(ms);
        results.unit.phases.push(phases);
        results.unit.traffic.push(trafficOf(proxy.stats.log, t).perPackage);
      }
      return ms;
    };

    // --- one Nx invocation on fresh versions
    let runCounter = 0;
    const nxVariant = async (variant, round) => {
      const spec = {
        default: { args: ['run-many', '-t', 'publish'], publishes: true, summary: true },
        'per-task': { args: ['run-many', '-t', 'publish', '--batch=false', `--parallel=${opts.concurrency}`], publishes: true },
        batch: { args: ['run-many', '-t', 'publish', '--batch'], publishes: true, summary: true },
        'batch-faults': { args: ['run-many', '-t', 'publish', '--batch'], publishes: true, summary: true, faults: true },
        'nx-noop': { args: ['run-many', '-t', 'noop'] },
        'noop-batch': { args: ['run-many', '-t', 'noop-task', '--batch'] },
        'noop-per-task': { args: ['run-many', '-t', 'noop-task', `--parallel=${opts.concurrency}`] },
      }[variant];
      const n = runCounter++;
      const version = nextVersion();
      setVersion(ws, graph, version);
      commitAll(ws, `bench ${n} ${variant}`);
      const probeFile = path.join(logs, `probe-${n}.jsonl`);
      const summaryFile = path.join(base, 'summaries', `summary-${n}.json`);
      const args = [...spec.args, '--skip-nx-cache', ...(spec.summary ? [`--summaryFile=${summaryFile}`] : [])];
      proxy.setOptions(spec.faults ? { faultRate: opts.faultRate, faults: opts.faults, seed: 1000 + round } : { faultRate: 0, seed: undefined });
      proxy.resetStats();
      const env = childEnv({ LSB_PROBE_FILE: probeFile, NODE_OPTIONS: `--require ${PROBE}` });
      const r = await runCommand(process.execPath, [NX_BIN, ...args], { cwd: ws, env, logFile: path.join(logs, `run-${n}-${variant}.log`) });
      const requestLog = proxy.stats.log.map((e) => ({ ...e }));
      const run = { n, variant, round, version, wallMs: r.ms, code: r.code, signal: r.signal, valid: r.code === 0 };
      if (spec.publishes) {
        const uploaded = new Set(proxy.stats.uploads.filter((u) => u.forwarded && u.version === version && typeof u.status === 'number' && u.status < 300).map((u) => u.name));
        run.uploaded = uploaded.size;
        if (uploaded.size !== graph.count) run.valid = false;
        run.faults = { injected: proxy.stats.faults, byKind: { ...proxy.stats.faultsByKind } };
      }
      const probe = readProbe(probeFile);
      if (spec.publishes) {
        // per task, a package's verify reads are its own task's; later reads are dependents confirming it
        const endOf = new Map(probe.filter((p) => p.execEnd && p.project).map((p) => [`@lsb/${p.project}`, p.execEnd]));
        run.traffic = trafficOf(requestLog, r.start, variant === 'per-task' ? (name) => endOf.get(name) ?? Infinity : undefined);
      }
      const main = probe.find((p) => p.argv && p.argv.some((a) => a.endsWith('nx.js')));
      if (main) run.nxMain = { boot: round1(main.preload - main.start), spawnToStart: round1(main.start - r.start) };
      if (variant === 'per-task' || variant === 'noop-per-task') run.perTask = analysePerTask(probe, requestLog, r.start, variant === 'per-task' ? 'publish' : 'noop-task', graph);
      if (variant === 'batch' || variant === 'batch-faults' || variant === 'noop-batch') run.batch = analyseBatch(probe, requestLog, r.start, r.end);
      if (spec.summary) {
        try {
          const s = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
          const durations = s.packages.map((p) => p.durationMs);
          run.summary = { ok: s.ok, counts: s.counts, durationMs: round1(s.durationMs), perPackage: summarize(durations) };
        } catch (error) {
          run.summary = { error: String(error.message) };
        }
      }
      if (!run.valid) {
        failed = true;
        log(`  ${variant}: INVALID (exit ${r.code}${run.uploaded !== undefined ? `, ${run.uploaded}/${graph.count} uploaded` : ''}); log in ${path.join(logs, `run-${n}-${variant}.log`)}`);
      } else {
        log(`  ${variant}: ${(r.ms / 1000).toFixed(2)} s${run.faults && run.faults.injected ? ` (${run.faults.injected} faults injected)` : ''}`);
      }
      results.runs.push(run);
      return run;
    };

    // --- the same 60 packages through the core API in this process (no Nx): publishPackages
    const inProcess = async (variant, round) => {
      const n = runCounter++;
      const version = nextVersion();
      setVersion(ws, graph, version);
      proxy.setOptions({ faultRate: 0, seed: undefined });
      proxy.resetStats();
      const packages = graph.nodes.map((node) => ({ name: node.name, version, dir: path.join(ws, node.dir), private: false, internalDeps: [...node.deps], project: node.project }));
      const start = now();
      const opened = await core.openJournal(path.join(base, 'inproc-journal', String(n)), {
        runId: `inproc-${n}`,
        sha: 'bench',
        target: 'publish',
        registry: proxy.url,
        packages: packages.map((p) => ({ name: p.name, version: p.version })),
        resume: 'fresh',
      });
      const journalReady = now();
      const packFn = async (p, releaseVersions) => {
        const packed = await core.packPackage(p.dir, { releaseVersions, workspaceVersions: new Map(), workspaceRoot: ws });
        return { manifest: packed.manifest, tarball: packed.tarball, integrity: packed.integrity };
      };
      const registryPort = timedRegistry(client, proxy.url, {});
      const common = { packages, registry: registryPort, journal: opened.journal, pack: packFn, maxConcurrency: opts.concurrency, verifyTimeoutMs: 5 * 60_000, tag: 'latest' };
      const summary = await core.publishPackages({ ...common, workspaceVersions: new Map(), log: () => {}, redact: (x) => x });
      const end = now();
      const uploaded = new Set(proxy.stats.uploads.filter((u) => u.forwarded && u.version === version && u.status < 300).map((u) => u.name));
      const run = {
        n,
        variant,
        round,
        version,
        wallMs: end - start,
        journalOpenMs: journalReady - start,
        publishMs: end - journalReady,
        valid: summary.ok && uploaded.size === graph.count,
        uploaded: uploaded.size,
        traffic: trafficOf(proxy.stats.log, start),
        perPackage: summarize(summary.packages.map((p) => p.durationMs).filter(Number.isFinite)),
      };
      if (!run.valid) {
        failed = true;
        log(`  ${variant} (in-process): INVALID (${uploaded.size}/${graph.count} uploaded, ${JSON.stringify(summary.counts)})`);
      } else log(`  ${variant} (in-process): ${(run.wallMs / 1000).toFixed(2)} s (journal open ${run.journalOpenMs.toFixed(0)} ms)`);
      results.runs.push(run);
      return run;
    };

    // --- npm publish, one package after the other, dependency order
    const npmBaseline = async (round) => {
      const n = runCounter++;
      const version = nextVersion();
      setVersion(ws, graph, version);
      commitAll(ws, `bench ${n} npm`);
      proxy.setOptions({ faultRate: 0, seed: undefined });
      proxy.resetStats();
      const { command, prefix } = npmInvocation();
      const env = childEnv();
      const each = [];
      const start = now();
      for (const level of graph.byLevel) {
        for (const name of level) {
          const node = graph.nodes.find((x) => x.name === name);
          const r = await runCommand(command, [...prefix, 'publish', '--no-audit', '--no-fund'], { cwd: path.join(ws, node.dir), env });
          if (r.code !== 0) throw new Error(`npm publish of ${name} failed (exit ${r.code}):\n${r.output.slice(-2000)}`);
          each.push(r.ms);
        }
      }
      const wallMs = now() - start;
      const uploaded = new Set(proxy.stats.uploads.filter((u) => u.forwarded && u.version === version && u.status < 300).map((u) => u.name));
      const run = { n, variant: 'npm', round, version, wallMs, valid: uploaded.size === graph.count, uploaded: uploaded.size, perPublish: summarize(each), requests: proxy.stats.requests };
      log(`  npm sequential: ${(wallMs / 1000).toFixed(2)} s (median ${(run.perPublish.median / 1000).toFixed(2)} s per publish)`);
      results.runs.push(run);
      return run;
    };

    // --- warm-up (not recorded): the project graph, the registry's first writes, this process's JIT
    log('publish: warm-up …');
    await runCommand(process.execPath, [NX_BIN, 'run-many', '-t', 'noop'], { cwd: ws, env: childEnv(), logFile: path.join(logs, 'warmup-noop.log') });
    await unitSample(false);
    let previousUnit = await unitSample(false);

    const variants = ['per-task', 'batch', 'default', 'core', 'batch-faults', 'nx-noop', 'noop-batch'];
    const slow = ['npm', 'noop-per-task'];
    for (let round = 0; round < opts.reps; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      // The slow references run in baselineReps rounds, spread over the middle ones.
      const withSlow = opts.baselineReps >= opts.reps || round === Math.floor(opts.reps / 2) || round < opts.baselineReps - 1;
      if (withSlow) order.splice(2, 0, ...(round % 2 ? [...slow].reverse() : slow));
      log(`publish: round ${round + 1}/${opts.reps}: ${order.join(', ')}`);
      for (const variant of order) {
        let run;
        if (variant === 'npm') run = await npmBaseline(round);
        else if (variant === 'core') run = await inProcess(variant, round);
        else run = await nxVariant(variant, round);
        const u = await unitSample();
        // The units measured right before and right after this run: its local bound (the load drifts).
        run.unitBeforeMs = previousUnit;
        run.unitAfterMs = u;
        previousUnit = u;
        log(`  unit: ${u.toFixed(0)} ms`);
      }
    }

    results.analysis = analyse(results, graph);
    results.failed = failed;
    return results;
  } finally {
    if (proxy) await proxy.stop();
    if (registry) await registry.stop();
    if (!opts.keep && !failed) fs.rmSync(base, { recursive: true, force: true, maxRetries: 3 });
    else log(`publish: kept ${base}`);
  }
}

/** Medians per variant, the bound, and the ratios. */
function analyse(results, graph) {
  const { concurrency } = results.config;
  const valid = (variant) => results.runs.filter((r) => r.variant === variant && r.valid);
  const wall = (variant) => summarize(valid(variant).map((r) => r.wallMs));
  const unit = summarize(results.unit.samples);
  const criticalPath = graph.levels;
  const bound = Math.max(criticalPath * unit.median, (graph.count * unit.median) / concurrency);
  const walls = {};
  for (const v of ['per-task', 'batch', 'default', 'batch-faults', 'core', 'nx-noop', 'noop-batch', 'noop-per-task', 'npm']) walls[v] = wall(v);
  const phaseKeys = ['pack', 'precheck', 'upload', 'verify', 'journal', 'other'];
  const unitPhases = Object.fromEntries(phaseKeys.map((k) => [k, round1(med(results.unit.phases.map((p) => p[k] || 0)))]));
  const trafficKeys = ['precheck', 'upload', 'verify', 'gapPrecheckToUpload', 'gapUploadToVerify', 'verifyReads'];
  const unitTraffic = Object.fromEntries(trafficKeys.map((k) => [k, round1(med(results.unit.traffic.map((t) => t[k]).filter(Number.isFinite)))]));
  const pick = (variant, fn) => {
    const values = valid(variant).map(fn).filter(Number.isFinite);
    return values.length ? round1(med(values)) : NaN;
  };
  const batchProfile = {};
  for (const key of ['nxUntilWorker', 'workerBoot', 'nxBatchInit', 'executorLoad', 'execStartMs', 'exec', 'execSetup', 'registryWindow', 'execTail', 'nxTail']) {
    batchProfile[key] = pick('batch', (r) => r.batch && r.batch[key]);
  }
  batchProfile.runPublishMs = pick('batch', (r) => r.summary && r.summary.durationMs);
  batchProfile.perPackageMedianMs = pick('batch', (r) => r.summary && r.summary.perPackage && r.summary.perPackage.median);
  batchProfile.extraVerifyPolls = pick('batch', (r) => r.traffic && r.traffic.extraVerifyPolls);
  batchProfile.requests = pick('batch', (r) => r.traffic && r.traffic.requests);
  const trafficOfVariant = (variant) => Object.fromEntries(trafficKeys.map((k) => [k, pick(variant, (r) => r.traffic && r.traffic.perPackage[k])]));
  const perPackageTraffic = { unit: unitTraffic, batch: trafficOfVariant('batch'), core: trafficOfVariant('core'), 'per-task': trafficOfVariant('per-task') };
  const inProcess = {
    coreJournalOpenMs: pick('core', (r) => r.journalOpenMs),
    corePublishMs: pick('core', (r) => r.publishMs),
    corePerPackageMs: pick('core', (r) => r.perPackage.median),
  };
  const perTaskProfile = {};
  for (const key of ['boot', 'nxTaskInit', 'executorLoad', 'exec', 'execSetup', 'confirmAndPack', 'confirmSpan', 'ownRegistry', 'execTail', 'afterExec', 'process', 'confirmReads', 'sumProcessMs', 'firstTaskStartMs', 'lastTaskEndMs']) {
    perTaskProfile[key] = pick('per-task', (r) => r.perTask && r.perTask[key]);
  }
  perTaskProfile.requests = pick('per-task', (r) => r.traffic && r.traffic.requests);
  perTaskProfile.extraVerifyPolls = pick('per-task', (r) => r.traffic && r.traffic.extraVerifyPolls);
  const noopPerTaskProfile = {};
  for (const key of ['boot', 'nxTaskInit', 'executorLoad', 'process', 'sumProcessMs', 'firstTaskStartMs', 'lastTaskEndMs']) {
    noopPerTaskProfile[key] = pick('noop-per-task', (r) => r.perTask && r.perTask[key]);
  }
  // Paired: each run against the bound of the units sampled right before and after it; median over runs.
  const boundFor = (unitMs) => Math.max(criticalPath * unitMs, (graph.count * unitMs) / concurrency);
  const paired = (variant, value = (r) => r.wallMs) => {
    const ratios = valid(variant)
      .filter((r) => Number.isFinite(r.unitBeforeMs) && Number.isFinite(r.unitAfterMs))
      .map((r) => value(r) / boundFor((r.unitBeforeMs + r.unitAfterMs) / 2))
      .filter(Number.isFinite);
    return ratios.length ? med(ratios) : NaN;
  };
  const faultPairs = [];
  for (const f of valid('batch-faults')) {
    const b = valid('batch').find((r) => r.round === f.round);
    if (b) faultPairs.push(f.wallMs / b.wallMs);
  }
  const faultRuns = valid('batch-faults');
  return {
    unit,
    unitPhases,
    criticalPath,
    packages: graph.count,
    bound,
    boundTerms: { criticalPathMs: criticalPath * unit.median, workOverConcurrencyMs: (graph.count * unit.median) / concurrency },
    walls,
    ratios: {
      perTaskOverBound: walls['per-task'].median / bound,
      batchOverBound: walls.batch.median / bound,
      batchMinusNxNoopOverBound: (walls.batch.median - walls['noop-batch'].median) / bound,
      batchRunPublishOverBound: batchProfile.runPublishMs / bound,
      perTaskMinusNoopPerTaskOverBound: (walls['per-task'].median - walls['noop-per-task'].median) / bound,
      npmOverBound: walls.npm.median / bound,
      coreOverBound: walls.core.median / bound,
      corePublishOverBound: inProcess.corePublishMs / bound,
      batchOverCore: walls.batch.median / walls.core.median,
      defaultOverBatch: walls.default.median / walls.batch.median,
      faultsOverBatch: walls['batch-faults'].median / walls.batch.median,
    },
    paired: {
      perTaskOverBound: paired('per-task'),
      batchOverBound: paired('batch'),
      defaultOverBound: paired('default'),
      batchRunPublishOverBound: paired('batch', (r) => r.summary && r.summary.durationMs),
      coreOverBound: paired('core'),
      npmOverBound: paired('npm'),
      noopBatchOverBound: paired('noop-batch'),
      noopPerTaskOverBound: paired('noop-per-task'),
      nxNoopOverBound: paired('nx-noop'),
      faultsOverBatch: faultPairs.length ? med(faultPairs) : NaN,
      faultsOverBatchPerRound: faultPairs,
    },
    faults: {
      injected: faultRuns.map((r) => r.faults.injected),
      byKind: faultRuns.map((r) => r.faults.byKind),
      requests: faultRuns.map((r) => r.traffic.requests),
    },
    npmPerPublish: summarize(valid('npm').flatMap((r) => [r.perPublish.median])),
    batchProfile,
    inProcess,
    perPackageTraffic,
    perTaskProfile,
    noopPerTaskProfile,
    invalidRuns: results.runs.filter((r) => !r.valid).map((r) => `${r.variant}#${r.n}`),
  };
}

module.exports = { runPublishBench, analyse, DEFAULTS, nameOfPath, trafficOf, analysePerTask, analyseBatch, readProbe };
