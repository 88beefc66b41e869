/**
 * Adopting lockstep in an existing Nx workspace, with the real nx binary:
 * a package-based workspace as create-nx-workspace makes it (package.json
 * with workspaces, nx.json, packages with a package.json only: no
 * project.json, no lockstep targets), then
 *
 * - `nx g @lockstep/nx:init` (what `nx add @lockstep/nx` runs): nx.json gets
 *   the plugin and targetDefaults, keeps what it had, and stays byte-identical
 *   on a second run;
 * - the inferred targets: publish and nx-release-publish on publishable
 *   packages only, generate where lockstep.generate.* is, explicit project.json
 *   options kept;
 * - `nx run-many -t publish` without --batch: one batch process (preferBatch)
 *   publishing every version once to a real Verdaccio; `--batch=false` per task;
 * - the inferred generate target caches;
 * - `nx add @lockstep/nx` itself, from a local Verdaccio holding the packed
 *   packages, with every other request refused (npm's cache only): it
 *   installs @lockstep/nx and with it @lockstep/cli, so `npx lockstep` works.
 */
import * as fs from 'fs';
import * as path from 'path';
import { nerfDart } from '../../../tools/registry/verdaccio';
import { createWorkspace, nxEnv, run } from '../../../tools/scripts/workspace';
import { PackageSpec, PublishRegistry, PublishWorkspace, expectDependencyOrder, expectEveryVersionOnce, killLiveRuns, show, startPublishRegistry, summaryCounts } from './utils/publish-workspace';
import { RunResult, TempWorkspace, createTempWorkspace, expectSuccess } from './utils/temp-workspace';

// Each test runs nx 5-12 times, and the nx add test two npm installs: minutes on a loaded 2-core machine.
const NX_TEST_TIMEOUT_MS = 480_000;
const NX_ADD_TEST_TIMEOUT_MS = 600_000;

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI_VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'packages', 'cli', 'package.json'), 'utf8')).version;

/** nx.json as create-nx-workspace writes it for a package-based (npm workspaces) repository. */
const CREATED_NX_JSON = {
  $schema: './node_modules/nx/schemas/nx-schema.json',
  namedInputs: {
    default: ['{projectRoot}/**/*', 'sharedGlobals'],
    production: ['default'],
    sharedGlobals: [],
  },
  targetDefaults: { build: { dependsOn: ['^build'], cache: true } },
  defaultBase: 'main',
};

/**
 * utils ← core ← app (private), utils ← explicit (has a project.json with an
 * explicit publish option), gen (private, lockstep.generate.js, no outDir of
 * its own); app also has a lockstep.generate.mjs exporting a literal outDir.
 */
const SPECS: PackageSpec[] = [
  { short: 'utils' },
  { short: 'core', dependencies: { utils: '^1.0.0' } },
  { short: 'app', private: true, dependencies: { core: '^1.0.0' } },
  { short: 'gen', private: true },
  { short: 'explicit', dependencies: { utils: '^1.0.0' } },
];
const PUBLIC = ['core', 'explicit', 'utils'];

const GENERATOR_JS = [
  "exports.generate = (ctx) => {",
  "  ctx.emit('index.txt', `generated for ${ctx.projectName}\\n`);",
  "  return { 'nested/data.json': JSON.stringify({ project: ctx.projectName }) + '\\n' };",
  '};',
  '',
].join('\n');
const GENERATOR_MJS = ["export const outDir = 'dist/app-generated';", 'export async function generate(ctx) {', "  ctx.emit('app.txt', 'app\\n');", '}', ''].join('\n');

let reg: PublishRegistry;
const cleanups: Array<() => void> = [];
let counter = 0;

beforeAll(async () => {
  reg = await startPublishRegistry();
}, 120_000);

afterAll(async () => {
  await killLiveRuns();
  for (const cleanup of cleanups) cleanup();
  await reg?.stop();
}, 120_000);

interface Adopted {
  pws: PublishWorkspace;
  ws: TempWorkspace;
  scope: string;
  dataDir: string;
  nx(args: string[]): Promise<RunResult>;
  nxJson(): string;
}

/** The workspace as created: package.json files only, the plugin not registered yet. */
async function createdWorkspace(label: string): Promise<Adopted> {
  const scope = `adopt${label}${++counter}${process.pid}`;
  const files: Record<string, string | object> = {
    'package.json': { name: `@${scope}/source`, version: '0.0.0', license: 'MIT', private: true, workspaces: ['packages/*'], devDependencies: { nx: '23.3.1' } },
    'nx.json': CREATED_NX_JSON,
    // A package.json outside the workspaces: no Nx project, so no targets either.
    'tools/fixture/package.json': { name: `@${scope}/fixture`, version: '1.0.0' },
    'packages/gen/lockstep.generate.js': GENERATOR_JS,
    'packages/app/lockstep.generate.mjs': GENERATOR_MJS,
    'packages/explicit/project.json': { name: `@${scope}/explicit`, targets: { publish: { options: { access: 'public' } } } },
  };
  for (const spec of SPECS) {
    const manifest: Record<string, unknown> = { name: `@${scope}/${spec.short}`, version: '1.0.0', main: 'index.js', license: 'MIT' };
    if (spec.private) manifest.private = true;
    if (spec.dependencies) manifest.dependencies = Object.fromEntries(Object.entries(spec.dependencies).map(([dep, range]) => [`@${scope}/${dep}`, range]));
    files[`packages/${spec.short}/package.json`] = manifest;
    files[`packages/${spec.short}/index.js`] = `exports.name = ${JSON.stringify(spec.short)};\n`;
  }
  const ws = await createTempWorkspace(`adopt-${label}`, files);
  const pws = new PublishWorkspace(ws, scope, SPECS, reg, '1.0.0');
  cleanups.push(() => pws.remove());
  const dataDir = ws.path('.nx', 'workspace-data');
  return {
    pws,
    ws,
    scope,
    dataDir,
    nx: (args) => ws.nx(args, { env: pws.env({ NX_WORKSPACE_DATA_DIRECTORY: dataDir, NX_ADD_PLUGINS: undefined }) }),
    nxJson: () => fs.readFileSync(ws.path('nx.json'), 'utf8'),
  };
}

async function adoptedWorkspace(label: string): Promise<Adopted> {
  const a = await createdWorkspace(label);
  expectSuccess(await a.nx(['g', '@lockstep/nx:init']), 'nx g @lockstep/nx:init');
  return a;
}

async function showProject(a: Adopted, name: string): Promise<{ targets: Record<string, Record<string, any>> }> {
  const result = await a.nx(['show', 'project', name, '--json']);
  expectSuccess(result, `nx show project ${name} --json`);
  return JSON.parse(result.stdout.slice(result.stdout.indexOf('{')));
}

async function projectsWithTarget(a: Adopted, target: string): Promise<string[]> {
  const result = await a.nx(['show', 'projects', '--with-target', target, '--json']);
  expectSuccess(result, `nx show projects --with-target ${target}`);
  return (JSON.parse(result.stdout.slice(result.stdout.indexOf('['))) as string[]).sort();
}

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, 'gm')) ?? []).length;

describe('nx g @lockstep/nx:init in a workspace as create-nx-workspace made it', () => {
  it(
    'registers the plugin and targetDefaults, keeps what nx.json had, and a second run leaves nx.json byte-identical',
    async () => {
      const a = await createdWorkspace('init');
      expect(await projectsWithTarget(a, 'publish')).toEqual([]);

      const first = await a.nx(['g', '@lockstep/nx:init']);
      show('init', first);
      expectSuccess(first, 'nx g @lockstep/nx:init');
      const nxJson = JSON.parse(a.nxJson());
      expect(nxJson).toEqual({
        ...CREATED_NX_JSON,
        targetDefaults: {
          ...CREATED_NX_JSON.targetDefaults,
          publish: { executor: '@lockstep/nx:publish', dependsOn: ['^publish'], cache: false },
          'nx-release-publish': { executor: '@lockstep/nx:publish', cache: false },
          generate: { executor: '@lockstep/nx:generate', cache: false },
        },
        plugins: [{ plugin: '@lockstep/nx/plugin', options: { publishTargetName: 'publish', releasePublishTargetName: 'nx-release-publish', generateTargetName: 'generate' } }],
      });

      const once = a.nxJson();
      const second = await a.nx(['g', '@lockstep/nx:init']);
      expectSuccess(second, 'nx g @lockstep/nx:init, again');
      expect(a.nxJson()).toBe(once);
      expect(second.output).not.toMatch(/UPDATE nx\.json/);

      const help = await a.nx(['g', '@lockstep/nx:init', '--help']);
      expectSuccess(help, 'nx g @lockstep/nx:init --help');
      expect(help.output).toMatch(/--skipPlugin\s+Do not register the inference/);
      expect(help.output).toMatch(/--skipFormat\s+Do not format nx\.json/);
    },
    NX_TEST_TIMEOUT_MS,
  );

  it(
    '--skipPlugin: targetDefaults only, so nothing is inferred',
    async () => {
      const a = await createdWorkspace('skip');
      expectSuccess(await a.nx(['g', '@lockstep/nx:init', '--skipPlugin']), 'nx g @lockstep/nx:init --skipPlugin');
      const nxJson = JSON.parse(a.nxJson());
      expect(nxJson.plugins).toBeUndefined();
      expect(nxJson.targetDefaults.publish).toEqual({ executor: '@lockstep/nx:publish', dependsOn: ['^publish'], cache: false });
      // Only the explicit target of project.json, completed by the targetDefaults (its executor).
      expect(await projectsWithTarget(a, 'publish')).toEqual([`@${a.scope}/explicit`]);
      expect((await showProject(a, `@${a.scope}/explicit`)).targets.publish).toMatchObject({ executor: '@lockstep/nx:publish', dependsOn: ['^publish'], options: { access: 'public' } });
    },
    NX_TEST_TIMEOUT_MS,
  );
});

describe('inferred targets', () => {
  it(
    'publish and nx-release-publish on the publishable packages only, with dependsOn; explicit options in project.json kept; generate where a lockstep.generate file is; results cached in the workspace data directory',
    async () => {
      const a = await adoptedWorkspace('infer');
      const name = (short: string) => `@${a.scope}/${short}`;
      // Not the private app and gen, not the package outside the workspaces.
      expect(await projectsWithTarget(a, 'publish')).toEqual(PUBLIC.map(name).sort());
      expect(await projectsWithTarget(a, 'nx-release-publish')).toEqual(PUBLIC.map(name).sort());
      expect(await projectsWithTarget(a, 'generate')).toEqual([name('app'), name('gen')].sort());

      const core = await showProject(a, name('core'));
      expect(core.targets.publish).toMatchObject({ executor: '@lockstep/nx:publish', dependsOn: ['^publish'], cache: false, options: {} });
      expect(core.targets['nx-release-publish']).toMatchObject({ executor: '@lockstep/nx:publish', dependsOn: ['^nx-release-publish'], cache: false });

      // project.json said only { options: { access } }: the option is kept, the rest is inferred.
      const explicit = await showProject(a, name('explicit'));
      expect(explicit.targets.publish).toMatchObject({ executor: '@lockstep/nx:publish', dependsOn: ['^publish'], options: { access: 'public' } });

      // generate (not cached) syncs outDir from the stash of generate--stash (cached), after generate--hold.
      const gen = await showProject(a, name('gen'));
      const genOptions = { generator: 'packages/gen/lockstep.generate.js', outDir: 'dist/generated/packages/gen', stash: 'dist/generated/packages/.gen.lockstep-stash' };
      expect(gen.targets.generate).toMatchObject({ executor: '@lockstep/nx:generate', cache: false, dependsOn: ['generate--stash'], options: genOptions });
      expect(gen.targets['generate--stash']).toMatchObject({
        executor: '@lockstep/nx:generate',
        cache: true,
        dependsOn: ['generate--hold'],
        inputs: ['default', '{projectRoot}/lockstep.generate.js'],
        outputs: ['{options.stash}'],
        options: { ...genOptions, phase: 'stash' },
      });
      expect(gen.targets['generate--hold']).toMatchObject({ executor: '@lockstep/nx:generate', cache: false, options: { ...genOptions, phase: 'hold' } });
      expect(gen.targets.publish).toBeUndefined();
      const app = await showProject(a, name('app'));
      expect(app.targets.generate.options).toEqual({ generator: 'packages/app/lockstep.generate.mjs', outDir: 'dist/app-generated', stash: 'dist/.app-generated.lockstep-stash' });

      // The plugin's cache: one file for these options, an entry per project root it looked at.
      const cacheFiles = fs.readdirSync(a.dataDir).filter((f) => /^lockstep-.+\.hash$/.test(f));
      expect(cacheFiles).toHaveLength(1);
      const entries = Object.values(JSON.parse(fs.readFileSync(path.join(a.dataDir, cacheFiles[0]), 'utf8')));
      expect(entries.filter((e) => e !== null)).toHaveLength(5);
    },
    NX_TEST_TIMEOUT_MS,
  );

  it(
    'the inferred generate targets run and cache: the second nx run-many -t generate is all cache hits',
    async () => {
      const a = await adoptedWorkspace('gen');
      const first = await a.nx(['run-many', '-t', 'generate', '--output-style=static']);
      show('generate', first);
      expectSuccess(first, 'nx run-many -t generate');
      expect(a.ws.snapshot('dist/generated/packages/gen')).toEqual({
        'index.txt': Buffer.from(`generated for @${a.scope}/gen\n`),
        'nested/data.json': Buffer.from(`${JSON.stringify({ project: `@${a.scope}/gen` })}\n`),
      });
      expect(a.ws.snapshot('dist/app-generated')).toEqual({ 'app.txt': Buffer.from('app\n') });

      const second = await a.nx(['run-many', '-t', 'generate', '--output-style=static']);
      show('generate again', second);
      expectSuccess(second, 'nx run-many -t generate, again');
      // The two stash tasks are cache hits; the hold and sync tasks are not cached and bring outDir up to date.
      expect(second.output).toMatch(/Nx read the output from the cache instead of running the command for 2 out of 6 tasks/);
      expect(second.output).toMatch(/\[lockstep\] dist\/generated\/packages\/gen: 2 files from the stash .*, 0 written, 2 unchanged, 0 pruned/);
      expect(Object.keys(a.ws.snapshot('dist/generated/packages/gen')).sort()).toEqual(['index.txt', 'nested/data.json']);
    },
    NX_TEST_TIMEOUT_MS,
  );
});

describe('nx run-many -t publish with preferBatch', () => {
  it(
    'without --batch: ONE batch process publishes every public version once, dependencies first; --batch=false runs a task per package',
    async () => {
      const a = await adoptedWorkspace('publish');
      a.pws.writeNpmrc();
      a.pws.commit('adopted');

      // Truly without a --batch flag (pws.publish([]) now means --batch=false).
      const batch = await a.ws.nx(['run-many', '-t', 'publish', '--output-style=static'], { env: a.pws.env({ NX_WORKSPACE_DATA_DIRECTORY: a.dataDir }) });
      show('run-many -t publish', batch);
      expectSuccess(batch, 'nx run-many -t publish (no --batch)');
      // Nx announces a batch once, and runs no task on its own.
      expect(count(batch.output, /Running 3 tasks with @lockstep\/nx:publish/)).toBe(1);
      expect(count(batch.output, /^> nx run \S+:publish/)).toBe(0);
      expect(summaryCounts(batch.output)).toEqual([{ published: 3, skipped: 0, failed: 0, blocked: 0 }]);
      expect(batch.output).toMatch(/Plan: 3 packages in 2 levels/);
      expectEveryVersionOnce(a.pws, a.pws.uploads());
      expectDependencyOrder(a.pws, a.pws.uploads());
      for (const short of PUBLIC) expect((await reg.packument(a.pws.name(short)))?.versions['1.0.0']).toBeDefined();

      const uploads = a.pws.uploads().length;
      const perTask = await a.pws.publish(['--batch=false'], { env: { NX_WORKSPACE_DATA_DIRECTORY: a.dataDir } });
      show('run-many -t publish --batch=false', perTask);
      expectSuccess(perTask, 'nx run-many -t publish --batch=false');
      expect(count(perTask.output, /Running \d+ tasks with @lockstep\/nx:publish/)).toBe(0);
      expect(count(perTask.output, /^> nx run \S+:publish/)).toBe(3);
      for (const short of PUBLIC) expect(perTask.output).toMatch(new RegExp(`${a.pws.name(short)}@1\\.0\\.0 skipped: already on `));
      expect(a.pws.uploads()).toHaveLength(uploads);
    },
    NX_TEST_TIMEOUT_MS,
  );
});

describe('nx add @lockstep/nx', () => {
  it(
    'from a local Verdaccio holding the packed packages, with npm allowed nothing else but its cache: installs @lockstep/nx and @lockstep/cli, runs init; npx lockstep works',
    async () => {
      const template = process.env.LOCKSTEP_E2E_TEMPLATE!;
      const root = fs.mkdtempSync(path.join(process.env.LOCKSTEP_E2E_ROOT!, 'workspaces', 'nx-add-'));
      const ws = new TempWorkspace(root, template);
      cleanups.push(() => ws.remove());
      const scope = `nxadd${process.pid}`;

      // npm: this workspace's .npmrc and a user config of its own; any request leaving loopback goes to a dead proxy,
      // so whatever is not @lockstep/* must come from npm's cache (filled by global-setup's install of the template).
      const userNpmrc = ws.scratch('user.npmrc');
      fs.writeFileSync(userNpmrc, `${nerfDart(reg.registry.url)}:_authToken=${reg.registry.token}\n`, { mode: 0o600 });
      const npmEnv: Record<string, string | undefined> = {};
      for (const key of Object.keys(process.env)) if (/^npm_config_/i.test(key)) npmEnv[key] = undefined;
      Object.assign(npmEnv, {
        npm_config_userconfig: userNpmrc,
        npm_config_prefer_offline: 'true',
        npm_config_proxy: 'http://127.0.0.1:9',
        npm_config_https_proxy: 'http://127.0.0.1:9',
        npm_config_noproxy: '127.0.0.1,localhost',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
        NPM_CONFIG_USERCONFIG: undefined,
        NX_ADD_PLUGINS: undefined,
        LOCKSTEP_LOCK_DIR: ws.scratch('locks'),
      });
      fs.mkdirSync(ws.scratch('locks'), { mode: 0o700 });
      const env = () => Object.fromEntries(Object.entries(nxEnv(npmEnv)).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;

      // The packages as global-setup packed and installed them, published to Verdaccio (directly, not through the proxy).
      for (const name of ['core', 'cli', 'nx']) {
        const dir = path.join(template, 'node_modules', '@lockstep', name);
        const published = await run('npm', ['publish', dir, `--registry=${reg.registry.url}`, '--ignore-scripts'], { cwd: root, env: env() });
        expectSuccess(published, `npm publish @lockstep/${name}`);
      }

      await createWorkspace(root, {
        files: {
          'package.json': { name: `@${scope}/source`, version: '0.0.0', private: true, workspaces: ['packages/*'], devDependencies: { nx: '23.3.1', '@nx/devkit': '23.3.1' } },
          'nx.json': CREATED_NX_JSON,
          '.npmrc': `@lockstep:registry=${reg.registry.url}\n`,
          'packages/a/package.json': { name: `@${scope}/a`, version: '1.0.0' },
          'packages/b/package.json': { name: `@${scope}/b`, version: '1.0.0', private: true },
        },
      });
      const install = await run('npm', ['install'], { cwd: root, env: env() });
      show('npm install', install);
      expectSuccess(install, 'npm install (nx from the npm cache)');
      expect(fs.existsSync(path.join(root, 'node_modules', '@lockstep'))).toBe(false);

      const nx = (args: string[]) => run(process.execPath, [path.join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args], { cwd: root, env: env() });
      const added = await nx(['add', '@lockstep/nx']);
      show('nx add @lockstep/nx', added);
      expectSuccess(added, 'nx add @lockstep/nx');
      expect(added.output).toMatch(/Package @lockstep\/nx added successfully/);
      expect(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies['@lockstep/nx']).toBe('^0.1.0');
      const nxJson = JSON.parse(fs.readFileSync(path.join(root, 'nx.json'), 'utf8'));
      expect(nxJson.plugins).toEqual([expect.objectContaining({ plugin: '@lockstep/nx/plugin' })]);
      expect(nxJson.targetDefaults).toMatchObject({ build: CREATED_NX_JSON.targetDefaults.build, publish: { executor: '@lockstep/nx:publish' }, generate: { executor: '@lockstep/nx:generate' } });

      const projects = await nx(['show', 'projects', '--with-target', 'publish', '--json']);
      expectSuccess(projects, 'nx show projects --with-target publish');
      expect(JSON.parse(projects.stdout.slice(projects.stdout.indexOf('[')))).toEqual([`@${scope}/a`]);

      // @lockstep/cli came with the plugin: its bin is the workspace's.
      expect(fs.existsSync(path.join(root, 'node_modules', '.bin', 'lockstep'))).toBe(true);
      const version = await run('npx', ['lockstep', '--version'], { cwd: root, env: env() });
      expectSuccess(version, 'npx lockstep --version');
      expect(version.stdout.trim()).toBe(CLI_VERSION);
      const status = await run('npx', ['lockstep', 'lock', 'status', '--resource', 'path:dist/x', '--json'], { cwd: root, env: env() });
      expectSuccess(status, 'npx lockstep lock status --json');
      expect(JSON.parse(status.stdout)).toMatchObject({ schema_version: 1, ok: true, data: { lock: { state: 'free' } } });
    },
    NX_ADD_TEST_TIMEOUT_MS,
  );

  it(
    'npx lockstep in a workspace linked to the template (which installed the packed plugin)',
    async () => {
      const a = await createdWorkspace('npx');
      const env = Object.fromEntries(Object.entries(nxEnv({ LOCKSTEP_LOCK_DIR: a.pws.lockDir })).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
      const version = await run('npx', ['--no-install', 'lockstep', '--version'], { cwd: a.ws.root, env });
      expectSuccess(version, 'npx lockstep --version');
      expect(version.stdout.trim()).toBe(CLI_VERSION);
      const status = await run('npx', ['--no-install', 'lockstep', 'lock', 'status', '--resource', 'path:dist/x', '--json'], { cwd: a.ws.root, env });
      expectSuccess(status, 'npx lockstep lock status --json');
      expect(JSON.parse(status.stdout)).toMatchObject({ schema_version: 1, ok: true, data: { lock: { state: 'free' } } });
    },
    NX_TEST_TIMEOUT_MS,
  );
});
