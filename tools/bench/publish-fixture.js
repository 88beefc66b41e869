'use strict';
/**
 * Synthetic release workspaces for the publish benchmarks (publish-bench.js,
 * scale-bench.js): a layered dependency graph, package folders on disk, and
 * an Nx workspace around them that uses @lockstep/nx:publish through the
 * repo's own node_modules.
 *
 *   const graph = layeredGraph({ levels: 6, perLevel: 10, seed: 7 });
 *   writePackages(dir, graph, '1.0.0');            // packages/<dir>/{package.json,index.js,README.md}
 *   await createNxWorkspace(dir, graph, { registryUrl, token, ... });
 *   setVersion(dir, graph, '1.0.1'); commitAll(dir);   // fresh versions: every run really uploads
 *
 * Every package of level L > 0 depends on 2–3 packages of level L − 1 (exact
 * versions, so `npm publish` gets the same manifests lockstep rewrites
 * `workspace:*` into), so the critical path is exactly `levels` packages.
 * Plain CommonJS, no dependencies.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { mulberry32 } = require('./prng');

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * { nodes: [{ name, project, dir, level, deps }], byLevel: [[name…]…], levels }.
 * Names are `@<scope>/l<L>-p<NN>`, project names `l<L>-p<NN>`.
 */
function layeredGraph({ levels = 6, perLevel = 10, minDeps = 2, maxDeps = 3, seed = 7, scope = 'lsb' } = {}) {
  const rng = mulberry32(seed);
  const byLevel = [];
  const nodes = [];
  const width = String(perLevel - 1).length;
  for (let level = 0; level < levels; level++) {
    const names = [];
    for (let i = 0; i < perLevel; i++) {
      const project = `l${level}-p${String(i).padStart(width, '0')}`;
      const name = `@${scope}/${project}`;
      let deps = [];
      if (level > 0) {
        const below = byLevel[level - 1];
        const want = Math.min(below.length, rng.int(minDeps, maxDeps));
        const chosen = new Set();
        // Every package below gets a dependent where possible: start at i's own column.
        chosen.add(below[i % below.length]);
        while (chosen.size < want) chosen.add(below[rng.int(0, below.length - 1)]);
        deps = [...chosen].sort();
      }
      nodes.push({ name, project, dir: `packages/${project}`, level, deps });
      names.push(name);
    }
    byLevel.push(names);
  }
  return { nodes, byLevel, levels, count: nodes.length };
}

/** A few KB of plausible source, different per package (so tarballs differ). */
function sourceOf(node) {
  const lines = [`'use strict';`, `// ${node.name}: synthetic package of the lockstep publish benchmark.`];
  for (const dep of node.deps) lines.push(`const ${ident(dep)} = require(${JSON.stringify(dep)});`);
  for (let i = 0; i < 40; i++) lines.push(`exports.f${i} = (x) => x * ${i + 1} + ${JSON.stringify(node.project)}.length; // filler ${i}`);
  return `${lines.join('\n')}\n`;
}

function ident(name) {
  return `dep_${name.replace(/[^a-zA-Z0-9]/g, '_')}`;
}

function manifestOf(node, version) {
  const manifest = { name: node.name, version, description: `lockstep bench package ${node.project}`, main: 'index.js', license: 'MIT' };
  if (node.deps.length) manifest.dependencies = Object.fromEntries(node.deps.map((d) => [d, version]));
  manifest.publishConfig = { access: 'public' };
  return manifest;
}

/** Writes every package folder under `root` at `version`. */
function writePackages(root, graph, version) {
  for (const node of graph.nodes) {
    const dir = path.join(root, node.dir);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifestOf(node, version), null, 2)}\n`);
    fs.writeFileSync(path.join(dir, 'index.js'), sourceOf(node));
    fs.writeFileSync(path.join(dir, 'README.md'), `# ${node.name}\n\nA package of the lockstep publish benchmark.\n`);
  }
}

/** Rewrites every package.json to `version` (dependencies too). */
function setVersion(root, graph, version) {
  for (const node of graph.nodes) fs.writeFileSync(path.join(root, node.dir, 'package.json'), `${JSON.stringify(manifestOf(node, version), null, 2)}\n`);
}

const GIT_ID = ['-c', 'user.name=lockstep-bench', '-c', 'user.email=bench@lockstep.invalid', '-c', 'commit.gpgsign=false'];

function git(root, args) {
  return execFileSync('git', [...GIT_ID, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

/** `git add -A && git commit` (the journal records the commit). */
function commitAll(root, message = 'bench') {
  git(root, ['add', '-A']);
  git(root, ['commit', '-q', '--allow-empty', '-m', message]);
}

/**
 * A local Nx plugin with do-nothing executors (per task and batch), placed in
 * `<parentDir>/node_modules/lockstep-bench-noop` so Node's resolution from the
 * workspace (one level below) finds it without touching the repo's
 * node_modules. It measures what Nx itself costs per task: the forked task
 * process, loading an executor, reporting back.
 */
function writeNoopPlugin(parentDir) {
  const dir = path.join(parentDir, 'node_modules', 'lockstep-bench-noop');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'lockstep-bench-noop', version: '0.0.0', executors: './executors.json' }, null, 2));
  fs.writeFileSync(
    path.join(dir, 'executors.json'),
    JSON.stringify(
      { executors: { noop: { implementation: './noop.js', batchImplementation: './noop-batch.js', schema: './schema.json', description: 'does nothing' } } },
      null,
      2,
    ),
  );
  fs.writeFileSync(path.join(dir, 'schema.json'), JSON.stringify({ version: 2, type: 'object', properties: {}, additionalProperties: true }));
  fs.writeFileSync(path.join(dir, 'noop.js'), `'use strict';\nmodule.exports = async function noop() { return { success: true }; };\nmodule.exports.default = module.exports;\n`);
  fs.writeFileSync(
    path.join(dir, 'noop-batch.js'),
    `'use strict';\nmodule.exports = async function noopBatch(taskGraph, inputs) {\n  return Object.fromEntries(Object.keys(inputs).map((id) => [id, { success: true, terminalOutput: '' }]));\n};\nmodule.exports.default = module.exports;\n`,
  );
  return dir;
}

/**
 * Makes `root` an Nx workspace of `graph` at `version`: package.json with
 * workspaces, nx.json (publish → @lockstep/nx:publish with ^publish; noop →
 * nx:noop; noop-task → the bench's do-nothing executor with ^noop-task),
 * project.json per package, .npmrc for `registryUrl` + `token`, node_modules
 * linked to the repo's, `git init` + commit. `publishOptions` go into the
 * publish target's defaults.
 */
function createNxWorkspace(root, graph, { version, registryUrl, token, publishOptions = {} }) {
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'package.json'), `${JSON.stringify({ name: 'lockstep-publish-bench', version: '0.0.0', private: true, workspaces: ['packages/*'] }, null, 2)}\n`);
  const nxJson = {
    targetDefaults: {
      publish: { dependsOn: ['^publish'], executor: '@lockstep/nx:publish', options: { ...publishOptions } },
      noop: { dependsOn: ['^noop'], executor: 'nx:noop' },
      'noop-task': { dependsOn: ['^noop-task'], executor: 'lockstep-bench-noop:noop' },
    },
  };
  fs.writeFileSync(path.join(root, 'nx.json'), `${JSON.stringify(nxJson, null, 2)}\n`);
  fs.writeFileSync(path.join(root, '.gitignore'), 'node_modules\n.nx\n');
  writePackages(root, graph, version);
  for (const node of graph.nodes) {
    const project = { name: node.project, root: node.dir, targets: { publish: {}, noop: {}, 'noop-task': {} } };
    fs.writeFileSync(path.join(root, node.dir, 'project.json'), `${JSON.stringify(project, null, 2)}\n`);
  }
  writeNpmrc(root, registryUrl, token);
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  git(root, ['init', '-q']);
  commitAll(root, 'initial');
  return root;
}

/** `//host:port/path/` for a registry URL, as npm keys credentials. */
function nerfDart(registry) {
  const parsed = new URL(registry);
  const rel = new URL('.', `${parsed.protocol}//${parsed.host}${parsed.pathname}`);
  return `//${rel.host}${rel.pathname}`;
}

function npmrcText(registryUrl, token) {
  return `registry=${registryUrl}\n${nerfDart(registryUrl)}:_authToken=${token}\n`;
}

function writeNpmrc(dir, registryUrl, token) {
  const file = path.join(dir, '.npmrc');
  fs.writeFileSync(file, npmrcText(registryUrl, token), { mode: 0o600 });
  return file;
}

module.exports = { layeredGraph, writePackages, setVersion, manifestOf, createNxWorkspace, writeNoopPlugin, commitAll, writeNpmrc, npmrcText, nerfDart, REPO_ROOT };
