'use strict';
/**
 * The publish half of `npm run demo`: an embedded Verdaccio on a free
 * loopback port behind a proxy that adds latency and a few injected 429/503
 * answers, a sample workspace of 12 packages in 4 levels (workspace:*, ^, ~
 * dependencies, plus one private package), published with
 * `nx run-many -t publish` with live progress and a summary, then published
 * again to show every package skipped. Last, two "CI machines" (two clones
 * sharing only a git remote, each with its own lock directory) release
 * 1.1.0 at the same moment with lockBackend "git": one publishes, the other
 * waits for the lease and then finds everything published.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { startRegistry, writeNpmrc } = require('../registry/verdaccio');
const { startFaultProxy } = require('../registry/fault-proxy');

/** name → dependencies (with the spec each uses); levels follow from them. */
const PACKAGES = {
  types: {},
  config: {},
  'core-utils': {},
  logger: { 'core-utils': 'workspace:^' },
  http: { 'core-utils': 'workspace:*', config: 'workspace:~' },
  schema: { types: 'workspace:^' },
  'api-client': { http: 'workspace:^', schema: 'workspace:*' },
  'ui-kit': { logger: 'workspace:^', types: 'workspace:*' },
  'cli-helpers': { config: 'workspace:^', logger: 'workspace:~' },
  web: { 'api-client': 'workspace:^', 'ui-kit': 'workspace:^' },
  cli: { 'cli-helpers': 'workspace:*', 'api-client': 'workspace:^' },
  sdk: { 'api-client': 'workspace:*', types: 'workspace:^' },
};
const PRIVATE = { 'dev-tools': { logger: 'workspace:*' } };
const SCOPE = '@acme';

function sampleFiles(version = '1.0.0') {
  const files = {};
  const add = (name, deps, isPrivate) => {
    const root = `packages/${name}`;
    const dependencies = Object.fromEntries(Object.entries(deps).map(([dep, spec]) => [`${SCOPE}/${dep}`, spec]));
    files[`${root}/package.json`] = {
      name: `${SCOPE}/${name}`,
      version,
      main: 'index.js',
      ...(isPrivate ? { private: true } : {}),
      ...(Object.keys(dependencies).length ? { dependencies } : {}),
    };
    files[`${root}/index.js`] = `module.exports = ${JSON.stringify(`${SCOPE}/${name}`)};\n`;
  };
  for (const [name, deps] of Object.entries(PACKAGES)) add(name, deps, false);
  for (const [name, deps] of Object.entries(PRIVATE)) add(name, deps, true);
  return files;
}

/** The workspace's package.json gains npm workspaces, as create-nx-workspace writes them: Nx makes a project of each package. */
function withWorkspaces(workspace) {
  const manifest = JSON.parse(fs.readFileSync(path.join(workspace, 'package.json'), 'utf8'));
  return { ...manifest, workspaces: ['packages/*'] };
}

/** nx.json with publish's targetDefaults options set (after `init` wrote the rest). */
function withPublishOptions(workspace, options) {
  const nxJson = JSON.parse(fs.readFileSync(path.join(workspace, 'nx.json'), 'utf8'));
  const publish = nxJson.targetDefaults?.publish ?? {};
  return { ...nxJson, targetDefaults: { ...nxJson.targetDefaults, publish: { ...publish, options: { ...publish.options, ...options } } } };
}

/**
 * Runs the publish demo in `workspace` (which has nx and the plugin
 * installed). `nx(args, env, onLine)` runs the workspace's nx. Returns the
 * list of problems (empty when all went well).
 */
async function runPublishDemo({ workspace, tmp, nx, nxIn, writeFiles, step, ok, fail }) {
  const problems = [];
  const registry = await step('Starting an embedded Verdaccio on 127.0.0.1, behind a proxy adding 50 ms and 5 % injected 429/503', async () => {
    const reg = await startRegistry({ storageDir: path.join(tmp, 'verdaccio') });
    const proxy = await startFaultProxy({ target: reg.url, latencyMs: 50, faultRate: 0.05, faults: ['429', '503'], retryAfterSeconds: 1, seed: 7 });
    console.log(`  Verdaccio ${reg.url} (started in ${reg.startupMs} ms), proxy ${proxy.url}`);
    return { reg, proxy };
  });
  try {
    await step(`Writing ${Object.keys(PACKAGES).length} public packages in 4 levels and 1 private one under packages/`, async () => {
      writeFiles(workspace, { ...sampleFiles(), 'package.json': withWorkspaces(workspace) });
      writeNpmrc(workspace, { url: registry.proxy.url, token: registry.reg.token });
      console.log('  package.json files only (npm workspaces "packages/*"), no lockstep targets written by hand;');
      console.log('  dependencies use workspace:*, workspace:^ and workspace:~; .npmrc points at the proxy');
    });

    await step('nx g @lockstep/nx:init (what `nx add @lockstep/nx` runs once it has installed the plugin)', async () => {
      const init = await nx(['g', '@lockstep/nx:init', '--no-interactive'], {});
      if (init.code !== 0) throw new Error(`init failed (exit ${init.code}):\n${init.output}`);
      const nxJson = JSON.parse(fs.readFileSync(path.join(workspace, 'nx.json'), 'utf8'));
      console.log(`  nx.json plugins: ${JSON.stringify(nxJson.plugins)}`);
      console.log(`  nx.json targetDefaults: ${Object.keys(nxJson.targetDefaults ?? {}).join(', ')}`);
      const shown = await nx(['show', 'projects', '--with-target', 'publish'], {});
      const projects = shown.output.split('\n').map((l) => l.trim()).filter((l) => /^@acme\//.test(l) || PACKAGES[l] !== undefined);
      console.log(`  inferred publish targets: ${projects.length} projects (the private dev-tools has none)`);
      if (projects.length !== Object.keys(PACKAGES).length) problems.push(`expected ${Object.keys(PACKAGES).length} projects with an inferred publish target, got ${projects.length}:\n${shown.output}`);
      writeFiles(workspace, { 'nx.json': withPublishOptions(workspace, { summaryFile: 'dist/publish-summary.json' }) });
    });

    let inTable = false;
    const live = (stream, line) => {
      // The run's summary table comes from the task that completes the run.
      if (/Published to |Dry run: nothing/.test(line)) inTable = true;
      if (inTable || /\[lockstep\]|Waiting for|Successfully ran|Ran target|failed/.test(line)) console.log(`  ${line.replace(/^\s+/, '')}`);
      if (/\d+ published, \d+ skipped/.test(line)) inTable = false;
    };
    const first = await step('nx run-many -t publish (one batch process: preferBatch; live progress)', () =>
      nx(['run-many', '-t', 'publish', '--output-style=stream', '--parallel=4'], {}, live),
    );
    if (first.code !== 0) problems.push(`the first publish failed (exit ${first.code})`);
    const summaryFile = path.join(workspace, 'dist', 'publish-summary.json');
    const summary = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : undefined;
    const uploads = registry.proxy.stats.uploads.filter((u) => u.forwarded && u.status < 300);
    const perVersion = new Map();
    for (const u of uploads) perVersion.set(`${u.name}@${u.version}`, (perVersion.get(`${u.name}@${u.version}`) ?? 0) + 1);
    console.log(
      `  proxy: ${registry.proxy.stats.requests} requests, ${registry.proxy.stats.faults} injected faults (retried), ${uploads.length} successful uploads`,
    );
    if (summary) console.log(`  summary file: ${JSON.stringify(summary.counts)}`);
    if (perVersion.size === Object.keys(PACKAGES).length && [...perVersion.values()].every((n) => n === 1)) ok('every public package uploaded exactly once; the private one not at all');
    else problems.push(`expected ${Object.keys(PACKAGES).length} uploads, one per version; got ${JSON.stringify([...perVersion])}`);

    const before = registry.proxy.stats.uploads.length;
    const second = await step('nx run-many -t publish again: everything is on the registry already', () =>
      nx(['run-many', '-t', 'publish', '--output-style=stream', '--parallel=4'], {}, live),
    );
    const again = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : undefined;
    if (second.code === 0 && registry.proxy.stats.uploads.length === before && again?.counts?.published === 0) {
      ok(`second run: ${again.counts.skipped} skipped, 0 uploads`);
    } else {
      problems.push(`the second run should upload nothing (exit ${second.code}, ${registry.proxy.stats.uploads.length - before} uploads)`);
    }

    await twoMachines({ workspace, tmp, nxIn, writeFiles, step, ok, problems, registry });
  } finally {
    await registry.proxy.stop();
    await registry.reg.stop();
  }
  for (const p of problems) fail(p);
  return problems;
}

/** Two clones of the workspace, one git remote, lockBackend "git": releases of two machines never interleave. */
async function twoMachines({ workspace, tmp, nxIn, writeFiles, step, ok, problems, registry }) {
  const git = (cwd, ...args) =>
    execFileSync('git', ['-c', 'user.name=lockstep-demo', '-c', 'user.email=demo@lockstep.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  const clone = path.join(tmp, 'sample-machine-b');
  await step('Two CI machines release 1.1.0 at once: two clones sharing only a git remote, lockBackend "git"', async () => {
    writeFiles(workspace, { ...sampleFiles('1.1.0'), 'nx.json': withPublishOptions(workspace, { lockBackend: { type: 'git', remote: 'origin', ttl: '1m' } }) });
    fs.appendFileSync(path.join(workspace, '.gitignore'), '.npmrc\n');
    const remote = path.join(tmp, 'remote.git');
    git(tmp, 'init', '-q', '--bare', remote);
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-q', '-m', 'release 1.1.0');
    git(workspace, 'remote', 'add', 'origin', remote);
    git(workspace, 'push', '-q', 'origin', 'HEAD');
    git(tmp, 'clone', '-q', remote, clone);
    fs.symlinkSync(path.join(workspace, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
    writeNpmrc(clone, { url: registry.proxy.url, token: registry.reg.token });
    console.log(`  machine A: ${workspace}\n  machine B: ${clone} (git clone; its own lock directory and Nx cache)`);
    const lockDir = (name) => {
      const dir = path.join(tmp, `locks-${name}`);
      fs.mkdirSync(dir, { mode: 0o700 });
      return dir;
    };
    const before = registry.proxy.stats.uploads.length;
    const live = (name) => (stream, line) => {
      if (/Waiting for|Holding|Took over| published in |\d+ published, \d+ skipped/.test(line)) console.log(`  ${name} │ ${line.replace(/^\s+/, '')}`);
    };
    const args = ['run-many', '-t', 'publish', '--output-style=stream', '--parallel=4'];
    const [a, b] = await Promise.all([
      nxIn(workspace, args, { LOCKSTEP_LOCK_DIR: lockDir('a') }, live('A')),
      nxIn(clone, args, { LOCKSTEP_LOCK_DIR: lockDir('b') }, live('B')),
    ]);
    const uploads = registry.proxy.stats.uploads.slice(before).filter((u) => u.forwarded && u.status < 300);
    const perVersion = new Map();
    for (const u of uploads) perVersion.set(`${u.name}@${u.version}`, (perVersion.get(`${u.name}@${u.version}`) ?? 0) + 1);
    const waited = [a, b].filter((r) => /Waiting for publish/.test(r.output)).length;
    if (a.code !== 0 || b.code !== 0) problems.push(`both machines should succeed (exit ${a.code} and ${b.code})`);
    else if (perVersion.size !== Object.keys(PACKAGES).length || ![...perVersion.values()].every((n) => n === 1)) {
      problems.push(`expected each 1.1.0 version uploaded exactly once; got ${JSON.stringify([...perVersion])}`);
    } else if (waited !== 1) problems.push(`expected exactly one machine to wait for the lease; ${waited} did`);
    else ok(`every 1.1.0 version uploaded exactly once; one machine held the lease, the other waited for it and then skipped all`);
  });
}

module.exports = { runPublishDemo, sampleFiles, PACKAGES };
