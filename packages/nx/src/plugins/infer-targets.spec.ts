import { ProjectRootFiles, inferTargets, interpolateOutDir, isPublishable, isSelected, normalizePluginOptions, staticOutDir } from './infer-targets';

const defaults = normalizePluginOptions(undefined);

function files(overrides: Partial<ProjectRootFiles>): ProjectRootFiles {
  return { root: 'packages/a', hasProjectJson: false, inPackageManagerWorkspaces: true, ...overrides };
}

const pkg = (manifest: Record<string, unknown>) => JSON.stringify(manifest);

describe('normalizePluginOptions', () => {
  it('defaults: publish, nx-release-publish, generate, dist/generated/{projectRoot}, every project', () => {
    expect(defaults).toEqual({
      publishTargetName: 'publish',
      releasePublishTargetName: 'nx-release-publish',
      generateTargetName: 'generate',
      generateOutDir: 'dist/generated/{projectRoot}',
      include: [],
      exclude: [],
    });
  });

  it('takes names, false, one glob or a list', () => {
    expect(normalizePluginOptions({ publishTargetName: 'release', releasePublishTargetName: false, include: 'packages/*', exclude: ['./packages/internal/'] })).toMatchObject({
      publishTargetName: 'release',
      releasePublishTargetName: false,
      include: ['packages/*'],
      exclude: ['packages/internal'],
    });
  });

  it.each([
    [{ publishTargetName: '' }, /publishTargetName must be a target name/],
    [{ generateTargetName: 'a:b' }, /generateTargetName must be a target name/],
    [{ releasePublishTargetName: 3 }, /releasePublishTargetName must be a target name/],
    [{ include: [''] }, /include must be a glob/],
    [{ exclude: 7 }, /exclude must be a glob/],
    [{ generateOutDir: '/abs/dir' }, /generateOutDir must be a workspace-relative directory/],
    [{ publishTargetName: 'ship', generateTargetName: 'ship' }, /both be named "ship"/],
    [{ publishTarget: 'x' }, /unknown option publishTarget/],
    ['publish', /"options" must be an object/],
  ])('refuses %j with a message naming the option', (options, message) => {
    expect(() => normalizePluginOptions(options)).toThrow(message);
    expect(() => normalizePluginOptions(options)).toThrow(/^\[lockstep\] \[EBADOPTIONS\] @lockstep\/nx plugin options in nx\.json: /);
  });
});

describe('isPublishable', () => {
  it.each([
    [pkg({ name: '@s/a', version: '1.0.0' }), true],
    [pkg({ name: '@s/a', version: '1.0.0', private: false }), true],
    [pkg({ name: '@s/a', version: '1.0.0', private: true }), false],
    [pkg({ name: '@s/a', version: '1.0.0', private: 'true' }), false],
    [pkg({ name: '@s/a' }), false],
    [pkg({ version: '1.0.0' }), false],
    [pkg({ name: '', version: '1.0.0' }), false],
    ['{ not json', false],
    ['[]', false],
    [undefined, false],
  ])('%s → %s', (text, expected) => {
    expect(isPublishable(text)).toBe(expected);
  });
});

describe('staticOutDir (read as text, never run)', () => {
  it.each([
    ["exports.outDir = 'dist/gen/a';\nexports.generate = () => ({});", 'dist/gen/a'],
    ['module.exports.outDir = "dist/gen/b";', 'dist/gen/b'],
    ['export const outDir = `dist/gen/c`;\nexport async function generate() {}', 'dist/gen/c'],
    ["  export let outDir='dist/gen/d'", 'dist/gen/d'],
  ])('%j → %s', (source, expected) => {
    expect(staticOutDir(source)).toBe(expected);
  });

  it.each([
    ["exports.outDir = path.join('dist', 'x');"],
    ['exports.outDir = `dist/${name}`;'],
    ["// exports.outDir = 'dist/commented';"],
    ["module.exports = { outDir: 'dist/in-object' };"],
    ["exports.outDir = '';"],
    ['exports.generate = () => ({});'],
  ])('%j → not seen (generateOutDir applies)', (source) => {
    expect(staticOutDir(source)).toBeUndefined();
  });
});

describe('interpolateOutDir', () => {
  it('replaces {projectRoot} and normalizes; the workspace root is no segment', () => {
    expect(interpolateOutDir('dist/generated/{projectRoot}', 'packages/a')).toBe('dist/generated/packages/a');
    expect(interpolateOutDir('dist/generated/{projectRoot}', '.')).toBe('dist/generated');
    expect(interpolateOutDir('out/{projectRoot}/gen/', 'libs/x')).toBe('out/libs/x/gen');
  });
});

describe('isSelected', () => {
  const simple = (root: string, glob: string) => glob === root || (glob.endsWith('/*') && root.startsWith(glob.slice(0, -1)));
  it('include selects, exclude removes, none selects all', () => {
    expect(isSelected('packages/a', { include: [], exclude: [] }, simple)).toBe(true);
    expect(isSelected('packages/a', { include: ['libs/*'], exclude: [] }, simple)).toBe(false);
    expect(isSelected('packages/a', { include: ['packages/*'], exclude: ['packages/a'] }, simple)).toBe(false);
  });
});

describe('inferTargets', () => {
  it('a publishable package in the workspaces: publish and nx-release-publish on the lockstep executor, each after the same target of its dependencies', () => {
    const targets = inferTargets(files({ packageJson: pkg({ name: '@s/a', version: '1.0.0' }) }), defaults);
    expect(targets).toEqual({
      publish: expect.objectContaining({ executor: '@lockstep/nx:publish', dependsOn: ['^publish'], cache: false, options: {} }),
      'nx-release-publish': expect.objectContaining({ executor: '@lockstep/nx:publish', dependsOn: ['^nx-release-publish'], cache: false, options: {} }),
    });
    expect(targets!.publish.metadata.description).toMatch(/lockstep/);
  });

  it('a private package, or one without a name or a version, gets no publish target', () => {
    expect(inferTargets(files({ packageJson: pkg({ name: '@s/a', version: '1.0.0', private: true }) }), defaults)).toBeUndefined();
    expect(inferTargets(files({ packageJson: pkg({ name: '@s/a' }) }), defaults)).toBeUndefined();
  });

  it('a package.json outside the workspaces and without project.json is no Nx project: nothing', () => {
    expect(inferTargets(files({ packageJson: pkg({ name: '@s/a', version: '1.0.0' }), inPackageManagerWorkspaces: false }), defaults)).toBeUndefined();
    expect(inferTargets(files({ packageJson: pkg({ name: '@s/a', version: '1.0.0' }), inPackageManagerWorkspaces: false, hasProjectJson: true }), defaults)).toHaveProperty('publish');
  });

  it('lockstep.generate.js: generate (not cached) after generate--stash (cached: the stash) after generate--hold, with the module, the convention file among the stash inputs and outDir from generateOutDir', () => {
    const targets = inferTargets(files({ hasProjectJson: true, conventionFile: { name: 'lockstep.generate.js', source: 'exports.generate = () => ({});' } }), defaults);
    const options = { generator: 'packages/a/lockstep.generate.js', outDir: 'dist/generated/packages/a', stash: 'dist/generated/packages/.a.lockstep-stash' };
    const metadata = expect.objectContaining({ technologies: ['lockstep'] });
    expect(targets).toEqual({
      generate: { executor: '@lockstep/nx:generate', dependsOn: ['generate--stash'], cache: false, options, metadata },
      'generate--stash': {
        executor: '@lockstep/nx:generate',
        dependsOn: ['generate--hold'],
        cache: true,
        inputs: ['default', '{projectRoot}/lockstep.generate.js'],
        outputs: ['{options.stash}'],
        options: { ...options, phase: 'stash' },
        metadata,
      },
      'generate--hold': { executor: '@lockstep/nx:generate', cache: false, options: { ...options, phase: 'hold' }, metadata },
    });
  });

  it('a hand-written generate target of project.json with "stash" gets its hold and stash targets (its options and inputs), and gains only dependsOn and cache: false itself', () => {
    const projectJson = JSON.stringify({
      targets: {
        codegen: { executor: '@lockstep/nx:generate', inputs: ['{projectRoot}/schema/**'], options: { outDir: 'dist/api', generator: 'tools/api.js', stash: true } },
        plain: { executor: '@lockstep/nx:generate', options: { outDir: 'dist/plain', generator: 'tools/p.js' } },
        other: { executor: 'nx:run-commands', options: { stash: true } },
      },
    });
    const targets = inferTargets(files({ hasProjectJson: true, projectJson }), defaults)!;
    expect(Object.keys(targets).sort()).toEqual(['codegen', 'codegen--hold', 'codegen--stash']);
    expect(targets.codegen).toEqual({ dependsOn: ['codegen--stash'], cache: false, options: {}, metadata: expect.anything() });
    expect(targets['codegen--stash']).toMatchObject({
      executor: '@lockstep/nx:generate',
      cache: true,
      dependsOn: ['codegen--hold'],
      inputs: ['{projectRoot}/schema/**'],
      outputs: ['{options.stash}'],
      // The directory itself, not true: outputs '{options.stash}' must name it.
      options: { outDir: 'dist/api', generator: 'tools/api.js', stash: 'dist/.api.lockstep-stash', phase: 'stash' },
    });
    expect(targets['codegen--hold'].options).toEqual({ outDir: 'dist/api', generator: 'tools/api.js', stash: 'dist/.api.lockstep-stash', phase: 'hold' });
    expect(inferTargets(files({ hasProjectJson: true, projectJson: '{ not json' }), defaults)).toBeUndefined();
  });

  it("the module's literal outDir wins over generateOutDir; at the workspace root the module path has no prefix", () => {
    const targets = inferTargets(
      files({ root: '.', hasProjectJson: true, conventionFile: { name: 'lockstep.generate.mjs', source: "export const outDir = 'dist/root-gen';" } }),
      normalizePluginOptions({ generateOutDir: 'out/{projectRoot}' }),
    );
    expect(targets!.generate.options).toEqual({ generator: 'lockstep.generate.mjs', outDir: 'dist/root-gen', stash: 'dist/.root-gen.lockstep-stash' });
  });

  it('target names come from the options; false leaves a target out', () => {
    const options = normalizePluginOptions({ publishTargetName: 'ship', releasePublishTargetName: false, generateTargetName: 'codegen' });
    const targets = inferTargets(files({ packageJson: pkg({ name: '@s/a', version: '1.0.0' }), conventionFile: { name: 'lockstep.generate.cjs', source: '' } }), options);
    expect(Object.keys(targets!).sort()).toEqual(['codegen', 'codegen--hold', 'codegen--stash', 'ship']);
    expect(targets!.ship.dependsOn).toEqual(['^ship']);
  });
});
