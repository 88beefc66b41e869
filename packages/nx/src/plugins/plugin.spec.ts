/**
 * createNodesV2 against real directories: which roots get which targets, and
 * the cache in the workspace data directory (NX_WORKSPACE_DATA_DIRECTORY).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CreateNodesContextV2 } from '@nx/devkit';
import { LOCKSTEP_PLUGIN_GLOB, createNodesV2 } from './plugin';

// Hashing reads Nx's native file index of the workspace; tell it what changed, as the nx process does.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { updateFilesInContext, globWithWorkspaceContext } = require('nx/src/utils/workspace-context');

let root: string;
const savedDataDir = process.env.NX_WORKSPACE_DATA_DIRECTORY;

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-plugin-')));
  process.env.NX_WORKSPACE_DATA_DIRECTORY = path.join(root, '.nx', 'workspace-data');
});
afterEach(() => {
  if (savedDataDir === undefined) delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
  else process.env.NX_WORKSPACE_DATA_DIRECTORY = savedDataDir;
  fs.rmSync(root, { recursive: true, force: true });
});

function write(files: Record<string, string | object>): string[] {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return Object.keys(files);
}

const context = (): CreateNodesContextV2 => ({ workspaceRoot: root, nxJsonConfiguration: {} }) as CreateNodesContextV2;

/** The config files Nx would hand the plugin: what the plugin's glob matches in the workspace. */
async function configFiles(): Promise<string[]> {
  return (await globWithWorkspaceContext(root, [LOCKSTEP_PLUGIN_GLOB])).sort();
}

async function run(options?: Record<string, unknown>) {
  const results = await createNodesV2[1](await configFiles(), options as never, context());
  const byRoot: Record<string, Record<string, any>> = {};
  for (const [, result] of results) {
    for (const [projectRoot, project] of Object.entries(result.projects ?? {})) byRoot[projectRoot] = project.targets as Record<string, any>;
  }
  return byRoot;
}

function workspace(): void {
  write({
    'package.json': { name: 'ws', private: true, workspaces: ['packages/*'] },
    'packages/a/package.json': { name: '@s/a', version: '1.0.0' },
    'packages/b/package.json': { name: '@s/b', version: '2.0.0', dependencies: { '@s/a': '1.0.0' } },
    'packages/internal/package.json': { name: '@s/internal', version: '1.0.0', private: true },
    'packages/gen/package.json': { name: '@s/gen', version: '1.0.0', private: true },
    'packages/gen/lockstep.generate.js': "exports.outDir = 'dist/gen-out';\nexports.generate = () => ({ 'a.txt': 'a' });\n",
    'apps/app/project.json': { name: 'app', root: 'apps/app' },
    'apps/app/lockstep.generate.cjs': 'exports.generate = () => ({});\n',
    'tools/fixture/package.json': { name: '@s/fixture', version: '1.0.0' },
    'tools/loose/lockstep.generate.js': 'exports.generate = () => ({});\n',
  });
}

describe('createNodesV2', () => {
  it('publish targets for publishable packages, generate where the convention file is; nothing for private packages, non-projects or loose files', async () => {
    workspace();
    const targets = await run();
    expect(Object.keys(targets).sort()).toEqual(['apps/app', 'packages/a', 'packages/b', 'packages/gen']);
    expect(Object.keys(targets['packages/a']).sort()).toEqual(['nx-release-publish', 'publish']);
    expect(targets['packages/b'].publish).toMatchObject({ executor: '@lockstep/nx:publish', dependsOn: ['^publish'] });
    expect(Object.keys(targets['packages/gen']).sort()).toEqual(['generate', 'generate--hold', 'generate--stash']);
    expect(targets['packages/gen'].generate.options).toEqual({ generator: 'packages/gen/lockstep.generate.js', outDir: 'dist/gen-out', stash: 'dist/.gen-out.lockstep-stash' });
    expect(targets['apps/app'].generate.options).toEqual({ generator: 'apps/app/lockstep.generate.cjs', outDir: 'dist/generated/apps/app', stash: 'dist/generated/apps/.app.lockstep-stash' });
  });

  it('include and exclude select project roots', async () => {
    workspace();
    expect(Object.keys(await run({ include: ['packages/*'], exclude: ['packages/b'] })).sort()).toEqual(['packages/a', 'packages/gen']);
  });

  it('bad options fail with a message naming them', async () => {
    workspace();
    await expect(run({ publishTargetName: 'a b' })).rejects.toThrow(/publishTargetName must be a target name/);
  });

  it('caches per root in the workspace data directory, keyed by the options and the files read', async () => {
    workspace();
    const first = await run();
    const dataDir = process.env.NX_WORKSPACE_DATA_DIRECTORY!;
    const cacheFiles = fs.readdirSync(dataDir).filter((f) => /^lockstep-.*\.hash$/.test(f));
    expect(cacheFiles).toHaveLength(1);
    const cacheFile = path.join(dataDir, cacheFiles[0]);
    const entries = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
    expect(Object.keys(entries)).toHaveLength(Object.keys(first).length + 3); // + the roots with no targets: internal, fixture (in no workspace), ws root

    // A hit reads nothing: prove it by planting a marker in the entry of packages/a.
    const keyOfA = Object.keys(entries).find((k) => entries[k]?.publish && JSON.stringify(entries[k]) === JSON.stringify(first['packages/a']))!;
    entries[keyOfA] = { publish: { ...entries[keyOfA].publish, options: { marker: 'from-cache' } } };
    fs.writeFileSync(cacheFile, JSON.stringify(entries));
    expect((await run())['packages/a'].publish.options).toEqual({ marker: 'from-cache' });

    // Changing a file read there makes a new key: packages/a private now, so no targets.
    write({ 'packages/a/package.json': { name: '@s/a', version: '1.0.0', private: true } });
    updateFilesInContext(root, ['packages/a/package.json'], []);
    expect((await run())['packages/a']).toBeUndefined();

    // Other options, another cache file.
    await run({ publishTargetName: 'ship' });
    expect(fs.readdirSync(dataDir).filter((f) => /^lockstep-.*\.hash$/.test(f))).toHaveLength(2);
  });

  it('a corrupt cache file is ignored and replaced', async () => {
    workspace();
    await run();
    const dataDir = process.env.NX_WORKSPACE_DATA_DIRECTORY!;
    const [cacheFile] = fs.readdirSync(dataDir).filter((f) => /^lockstep-.*\.hash$/.test(f));
    fs.writeFileSync(path.join(dataDir, cacheFile), '{ torn');
    expect(Object.keys(await run()).sort()).toEqual(['apps/app', 'packages/a', 'packages/b', 'packages/gen']);
    expect(() => JSON.parse(fs.readFileSync(path.join(dataDir, cacheFile), 'utf8'))).not.toThrow();
  });

  it('is exported from the package main and from the light @lockstep/nx/plugin entry', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require('../index');
    expect(main.createNodesV2).toBe(createNodesV2);
    expect(createNodesV2[0]).toBe(LOCKSTEP_PLUGIN_GLOB);
    expect(fs.readFileSync(path.join(__dirname, '..', '..', 'plugin.js'), 'utf8')).toMatch(/require\('\.\/dist\/plugins\/plugin'\)/);
  });
});
