'use strict';
/**
 * Shared by the demo (tools/scripts/demo.js) and the Nx e2e tests
 * (e2e/nx-e2e): pack the lockstep packages, install them with a real Nx into a
 * template workspace, and make throw-away Nx workspaces that link to it.
 *
 * Plain Node (CommonJS), no dependencies, so it runs from a fresh clone.
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const NX_VERSION = '23.3.1';
/** The packages a workspace needs to use the plugin, in dependency order (@lockstep/nx depends on @lockstep/cli, for its `lockstep` bin). */
const PLUGIN_PACKAGES = ['packages/core', 'packages/cli', 'packages/nx'];

/** Child processes started here and still running, so an interrupted caller can stop them. */
const liveChildren = new Set();

/** Remembers `child` until it exits (see terminateChildren). */
function track(child) {
  liveChildren.add(child);
  child.once('close', () => liveChildren.delete(child));
  return child;
}

/**
 * Sends SIGTERM to every child still running (nx passes it on to its task
 * processes) and resolves once they are gone, or after `graceMs`.
 */
function terminateChildren(graceMs = 5000) {
  const children = [...liveChildren];
  const gone = children.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('close', resolve))));
  for (const child of children) child.kill('SIGTERM');
  return Promise.race([Promise.all(gone), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
}

/**
 * Runs a command and collects its output. Never rejects on a non-zero exit:
 * the result carries `code` (or `signal`) for the caller to judge.
 * `onLine(stream, line)` sees output as it arrives.
 */
function run(command, args, options = {}) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let stdout = '';
    let stderr = '';
    const pending = { stdout: '', stderr: '' };
    const feed = (stream, chunk) => {
      const text = chunk.toString();
      if (stream === 'stdout') stdout += text;
      else stderr += text;
      if (!options.onLine) return;
      pending[stream] += text;
      const lines = pending[stream].split('\n');
      pending[stream] = lines.pop();
      for (const line of lines) options.onLine(stream, line);
    };
    child.stdout.on('data', (chunk) => feed('stdout', chunk));
    child.stderr.on('data', (chunk) => feed('stderr', chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (options.onLine) {
        for (const stream of ['stdout', 'stderr']) if (pending[stream]) options.onLine(stream, pending[stream]);
      }
      resolve({ code, signal, stdout, stderr, output: stdout + stderr, durationMs: Date.now() - started, pid: child.pid });
    });
  });
}

/** Like `run`, but rejects with the command's output when it fails. */
async function runChecked(command, args, options = {}) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const shown = [command, ...args].join(' ');
    throw new Error(`'${shown}' in ${options.cwd ?? process.cwd()} exited with ${result.code ?? result.signal}:\n${result.output}`);
  }
  return result;
}

/** npm's own entry point, run by this Node (no shell, no PATH surprises). */
function npmCommand() {
  const npmCli = process.env.npm_execpath;
  if (npmCli && /npm-cli\.js$/.test(npmCli) && fs.existsSync(npmCli)) return { command: process.execPath, prefix: [npmCli] };
  return { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', prefix: [] };
}

function npm(args, options) {
  const { command, prefix } = npmCommand();
  return runChecked(command, [...prefix, ...args], options);
}

/**
 * The packages among `packages` (default PLUGIN_PACKAGES; paths relative to
 * the repository) whose build is missing or older than their sources.
 * TypeScript itself judges (`tsc -b --dry`, read-only): file times alone
 * mislead, since tsc does not re-emit a file whose content did not change.
 * The one freshness check of the repository: assertFreshBuild (e2e's global
 * setup, the demo, core's test-utils/fresh-dist.ts for specs whose fixture
 * processes load dist) and the benchmarks (which warn) use it.
 */
function staleBuilds(packages = PLUGIN_PACKAGES) {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [REPO_ROOT] });
  const result = spawnSync(process.execPath, [tsc, '-b', ...packages, '--dry'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const stale = [...`${result.stdout}`.matchAll(/A non-dry build would build project '([^']+)'/g)].map((m) => path.relative(REPO_ROOT, path.dirname(m[1])));
  if (result.status !== 0 && stale.length === 0) throw new Error(`'tsc -b ${packages.join(' ')} --dry' failed:\n${result.stdout}${result.stderr}`);
  return stale;
}

/** Throws unless `packages` (default PLUGIN_PACKAGES) are built and up to date (see staleBuilds), so a stale build is never packed or tested by mistake. */
function assertFreshBuild(packages = PLUGIN_PACKAGES) {
  const stale = staleBuilds(packages);
  if (stale.length > 0) throw new Error(`The build of ${stale.join(', ')} is missing or stale: run 'npm run build' first.`);
}

/**
 * Packs @lockstep/core, @lockstep/cli and @lockstep/nx (their built dist: run
 * the build first) into `destDir`. Returns `{ '@lockstep/core': '/abs/x.tgz', ... }`.
 */
async function packPlugin(destDir) {
  fs.mkdirSync(destDir, { recursive: true });
  const tarballs = {};
  for (const rel of PLUGIN_PACKAGES) {
    const dir = path.join(REPO_ROOT, rel);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (!fs.existsSync(path.join(dir, manifest.main ?? 'dist/index.js'))) {
      throw new Error(`${manifest.name} is not built (${path.join(rel, manifest.main ?? 'dist/index.js')} is missing): run 'npm run build' first.`);
    }
    const { stdout } = await npm(['pack', '--json', '--pack-destination', destDir], { cwd: dir });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    tarballs[manifest.name] = path.join(destDir, info.filename);
  }
  return tarballs;
}

/**
 * Makes `dir` an npm project with nx and the packed plugin installed
 * (`npm install`, never `npm ci`: see DESIGN.md). Other workspaces link their
 * node_modules to this one.
 */
async function createTemplateWorkspace(dir, tarballs, options = {}) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'lockstep-template', version: '0.0.0', private: true }, null, 2) + '\n');
  // @nx/devkit is the plugin's peer dependency; pinned so npm does not pick a newer patch than nx.
  // @nx/js: `nx release` needs it (its default versionActions), and with it installed Nx infers its own
  // nx-release-publish on every public package, which lockstep's setup must override (release.spec.ts).
  await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', `nx@${NX_VERSION}`, `@nx/devkit@${NX_VERSION}`, `@nx/js@${NX_VERSION}`, ...Object.values(tarballs)], {
    cwd: dir,
    onLine: options.onLine,
  });
  for (const name of ['nx', '@nx/js', ...Object.keys(tarballs)]) {
    if (!fs.existsSync(path.join(dir, 'node_modules', name, 'package.json'))) throw new Error(`${name} is missing from ${dir}/node_modules after npm install.`);
  }
  return dir;
}

/** The real nx entry point of a template workspace. */
function nxBin(templateDir) {
  return path.join(templateDir, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
}

/**
 * Writes `files` (path relative to `root` → string, Buffer, or an object that
 * is written as JSON) under `root`.
 */
function writeFiles(root, files) {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const data = typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content, null, 2) + '\n';
    fs.writeFileSync(file, data);
  }
}

/**
 * Makes `dir` an Nx workspace: package.json (unless there is one), nx.json, a
 * .gitignore, the given files, node_modules linked to the template's (when
 * `templateDir` is given; without it, `dir` must have its own), and `git init`.
 *
 * No commit on purpose: Nx 23 keys a shared cache (`~/.nx/<id>/cache`) on the
 * git remote or, without one, on the first commit; a repo with no commit keeps
 * its cache and database in its own `.nx/`, so workspaces never share state.
 */
async function createWorkspace(dir, options = {}) {
  const { templateDir, files = {}, nxJson = {} } = options;
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    writeFiles(dir, { 'package.json': { name: path.basename(dir).replace(/[^a-z0-9-]/gi, '-').toLowerCase(), version: '0.0.0', private: true } });
  }
  writeFiles(dir, { 'nx.json': nxJson, '.gitignore': 'node_modules\ndist\n.nx\n', ...files });
  if (templateDir) fs.symlinkSync(path.join(templateDir, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await runChecked('git', ['init', '-q'], { cwd: dir });
  return dir;
}

/** What every nx child of the demo, the e2e tests and the benchmarks runs with: no daemon, no cloud, plugins in-process, plain output. */
const NX_CHILD_SETTINGS = {
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_ISOLATE_PLUGINS: 'false',
  NX_TUI: 'false',
  FORCE_COLOR: '0',
  NO_COLOR: '1',
};

/**
 * Environment for nx in these workspaces: no daemon (it is off in containers
 * anyway; nothing here may depend on it), no Nx Cloud, plugins in-process
 * (saves about half a second per invocation), no TUI, no colours. CI passes
 * through as it is.
 */
function nxEnv(extra = {}) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    // Set by a parent nx (the repo's own tasks), these would confuse the child nx;
    // a cache directory from outside would make every workspace share one cache.
    if (/^NX_(TASK_TARGET|TASK_HASH|INVOCATION_ROOT_PID|WORKSPACE_ROOT|CLI_SET|LOAD_DOT_ENV|CACHE_DIRECTORY|WORKSPACE_DATA_DIRECTORY|PROJECT_GRAPH_CACHE_DIRECTORY)/.test(key)) {
      delete env[key];
    }
  }
  // An opt-out of the lock in the caller's shell must not leak into what these runs show.
  delete env.LOCKSTEP_NO_LOCK;
  return { ...env, ...NX_CHILD_SETTINGS, NX_SKIP_NX_CACHE: undefined, ...extra };
}

function cleanEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Runs the template's nx in `cwd`. Resolves with `{ code, output, ... }`, never rejects on failure. */
function runNx(templateDir, cwd, args, options = {}) {
  return run(process.execPath, [nxBin(templateDir), ...args], { cwd, env: cleanEnv(nxEnv(options.env)), onLine: options.onLine });
}

/** A fresh temp dir; `removeDir` it when done. */
function makeTempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function removeDir(dir) {
  if (dir) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Lists the files under `dir` (posix relative paths, sorted), or [] if it is missing or not a directory. */
function listFiles(dir) {
  const out = [];
  const walk = (abs, rel) => {
    let entries;
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (error) {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(abs, entry.name), childRel);
      else out.push(childRel);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Reads a directory tree into `{ relPath: Buffer }`. */
function snapshotDir(dir) {
  const snapshot = {};
  for (const rel of listFiles(dir)) snapshot[rel] = fs.readFileSync(path.join(dir, ...rel.split('/')));
  return snapshot;
}

module.exports = {
  REPO_ROOT,
  NX_CHILD_SETTINGS,
  NX_VERSION,
  run,
  runChecked,
  track,
  terminateChildren,
  packPlugin,
  assertFreshBuild,
  staleBuilds,
  createTemplateWorkspace,
  nxBin,
  nxEnv,
  runNx,
  writeFiles,
  createWorkspace,
  makeTempDir,
  removeDir,
  listFiles,
  snapshotDir,
};
