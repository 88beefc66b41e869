import { readJson, readNxJson, updateJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { initGenerator, PLUGIN_ENTRY } from './generator';

const PLUGIN = { plugin: PLUGIN_ENTRY, options: { publishTargetName: 'publish', releasePublishTargetName: 'nx-release-publish', generateTargetName: 'generate' } };
const PUBLISH_DEFAULTS = { executor: '@lockstep/nx:publish', dependsOn: ['^publish'], cache: false };
const GENERATE_DEFAULTS = { executor: '@lockstep/nx:generate', cache: false };
const RELEASE_PUBLISH_DEFAULTS = { executor: '@lockstep/nx:publish', cache: false };

const nxJsonText = (tree: Tree) => tree.read('nx.json', 'utf-8');

function setNxJson(tree: Tree, change: (json: Record<string, any>) => void): void {
  updateJson(tree, 'nx.json', (json) => {
    change(json);
    return json;
  });
}

describe('init generator', () => {
  let tree: Tree;
  let warnings: jest.SpyInstance;
  const warned = () => warnings.mock.calls.map((args) => args.join(' ')).join('\n');
  const savedAddPlugins = process.env.NX_ADD_PLUGINS;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    delete process.env.NX_ADD_PLUGINS;
    // Nx's logger (our notes, and formatFiles finding no oxfmt for the oxfmt config of the test tree).
    warnings = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warnings.mockRestore();
    if (savedAddPlugins === undefined) delete process.env.NX_ADD_PLUGINS;
    else process.env.NX_ADD_PLUGINS = savedAddPlugins;
  });

  it('registers the plugin and adds targetDefaults for publish and generate, keeping what nx.json had', async () => {
    const before = readNxJson(tree)!;
    await initGenerator(tree, {});
    const after = readNxJson(tree)!;
    expect(after.plugins).toEqual([...(before.plugins ?? []), PLUGIN]);
    expect(after.targetDefaults).toEqual({ ...(before.targetDefaults ?? {}), publish: PUBLISH_DEFAULTS, 'nx-release-publish': RELEASE_PUBLISH_DEFAULTS, generate: GENERATE_DEFAULTS });
    const { plugins: _p, targetDefaults: _t, ...restAfter } = after;
    const { plugins: _bp, targetDefaults: _bt, ...restBefore } = before;
    expect(restAfter).toEqual(restBefore);
  });

  it('is idempotent: a second run leaves nx.json byte-identical', async () => {
    await initGenerator(tree, {});
    const once = nxJsonText(tree);
    await initGenerator(tree, {});
    expect(nxJsonText(tree)).toBe(once);
    await initGenerator(tree, { skipFormat: true });
    expect(nxJsonText(tree)).toBe(once);
  });

  it('never duplicates the plugin: the package name, the plugin entry, string or object form, with its options kept', async () => {
    for (const existing of ['@lockstep/nx', PLUGIN_ENTRY, { plugin: '@lockstep/nx', options: { publishTargetName: 'ship' } }, { plugin: PLUGIN_ENTRY, exclude: ['apps/**'] }]) {
      const t = createTreeWithEmptyWorkspace();
      setNxJson(t, (json) => (json.plugins = ['@nx/js/typescript', existing]));
      await initGenerator(t, { skipFormat: true });
      expect(readNxJson(t)!.plugins).toEqual(['@nx/js/typescript', existing]);
    }
  });

  it("hand-edited targetDefaults win: a lockstep entry is only completed, another tool's entry is left alone", async () => {
    setNxJson(tree, (json) => {
      json.targetDefaults = {
        ...json.targetDefaults,
        publish: { executor: '@lockstep/nx:publish', dependsOn: ['build', '^publish'], options: { summaryFile: 'dist/summary.json' } },
        generate: { executor: 'nx:run-commands', options: { command: 'prisma generate' }, cache: false },
      };
    });
    await initGenerator(tree, { skipFormat: true });
    const { targetDefaults } = readNxJson(tree)!;
    expect(targetDefaults!.publish).toEqual({ executor: '@lockstep/nx:publish', dependsOn: ['build', '^publish'], options: { summaryFile: 'dist/summary.json' }, cache: false });
    expect(targetDefaults!.generate).toEqual({ executor: 'nx:run-commands', options: { command: 'prisma generate' }, cache: false });
    expect(warned()).toMatch(/\[lockstep\] targetDefaults\.generate is not lockstep's \(executor "nx:run-commands"\): left as it is\./);
    expect(warned()).not.toMatch(/targetDefaults\.publish/);
  });

  it('brings the generate default an older init wrote (cache: true, outputs: outDir) up to date, and says so; a hand-edited one is only completed', async () => {
    setNxJson(tree, (json) => {
      json.targetDefaults = { ...json.targetDefaults, generate: { executor: '@lockstep/nx:generate', cache: true, outputs: ['{options.outDir}'] } };
    });
    await initGenerator(tree, { skipFormat: true });
    expect(readNxJson(tree)!.targetDefaults!.generate).toEqual(GENERATE_DEFAULTS);
    expect(warned()).toMatch(/targetDefaults\.generate was what an older init wrote/);
    setNxJson(tree, (json) => {
      json.targetDefaults = { ...json.targetDefaults, generate: { executor: '@lockstep/nx:generate', inputs: ['default'] } };
    });
    await initGenerator(tree, { skipFormat: true });
    expect(readNxJson(tree)!.targetDefaults!.generate).toEqual({ executor: '@lockstep/nx:generate', inputs: ['default'], cache: false });
  });

  it('an entry without executor applies to every target of that name, and filtered entries are the user\'s: both left as they are', async () => {
    setNxJson(tree, (json) => {
      json.targetDefaults = { publish: { dependsOn: ['build'] }, generate: [{ filter: { projects: ['app'] }, cache: false }] };
    });
    await initGenerator(tree, { skipFormat: true });
    expect(readNxJson(tree)!.targetDefaults).toEqual({ publish: { dependsOn: ['build'] }, 'nx-release-publish': RELEASE_PUBLISH_DEFAULTS, generate: [{ filter: { projects: ['app'] }, cache: false }] });
    expect(warned()).toMatch(/targetDefaults\.publish is not lockstep's \(executor "none"\)/);
    expect(warned()).toMatch(/targetDefaults\.generate is not lockstep's \(filtered entries\)/);
  });

  it('an executor-keyed default (which Nx prefers over a name-keyed one) is not shadowed by a new name-keyed entry; nx-release-publish is added all the same (Nx reads it by name for @nx/js\'s target)', async () => {
    setNxJson(tree, (json) => (json.targetDefaults = { '@lockstep/nx:publish': { dependsOn: ['^publish'] } }));
    await initGenerator(tree, { skipFormat: true });
    expect(readNxJson(tree)!.targetDefaults).toEqual({ '@lockstep/nx:publish': { dependsOn: ['^publish'] }, 'nx-release-publish': RELEASE_PUBLISH_DEFAULTS, generate: GENERATE_DEFAULTS });
    expect(warned()).toMatch(/targetDefaults\["@lockstep\/nx:publish"\] is set/);
  });

  it('skipPlugin: targetDefaults only (explicit targets in project.json)', async () => {
    await initGenerator(tree, { skipPlugin: true, skipFormat: true });
    const nxJson = readNxJson(tree)!;
    expect(JSON.stringify(nxJson.plugins ?? [])).not.toContain('@lockstep/nx');
    expect(nxJson.targetDefaults).toMatchObject({ publish: PUBLISH_DEFAULTS, generate: GENERATE_DEFAULTS });
  });

  it('a workspace that opted out of inference plugins gets none unless asked (useInferencePlugins: false, NX_ADD_PLUGINS=false)', async () => {
    setNxJson(tree, (json) => (json.useInferencePlugins = false));
    await initGenerator(tree, { skipFormat: true });
    expect(JSON.stringify(readNxJson(tree)!.plugins ?? [])).not.toContain('@lockstep/nx');
    await initGenerator(tree, { skipFormat: true, skipPlugin: false });
    expect(readNxJson(tree)!.plugins).toContainEqual(PLUGIN);

    const other = createTreeWithEmptyWorkspace();
    process.env.NX_ADD_PLUGINS = 'false';
    await initGenerator(other, { skipFormat: true });
    expect(JSON.stringify(readNxJson(other)!.plugins ?? [])).not.toContain('@lockstep/nx');
  });

  it('writes nx.json when the workspace has none', async () => {
    tree.delete('nx.json');
    await initGenerator(tree, { skipFormat: true });
    const nxJson = readJson(tree, 'nx.json');
    expect(nxJson.plugins).toEqual([PLUGIN]);
    expect(nxJson.targetDefaults).toEqual({ publish: PUBLISH_DEFAULTS, 'nx-release-publish': RELEASE_PUBLISH_DEFAULTS, generate: GENERATE_DEFAULTS });
  });

  it('touches no file but nx.json', async () => {
    const contents = () => Object.fromEntries(tree.listChanges().map((c) => [c.path, c.content?.toString('utf8')]));
    const before = contents();
    await initGenerator(tree, {});
    const after = contents();
    expect(Object.keys(after).filter((file) => after[file] !== before[file])).toEqual(['nx.json']);
  });
});
