import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { rewriteManifest } from '../pack/rewrite-manifest';
import { internalDependency } from './internal-spec';
import { scanWorkspacePackages } from './workspace-packages';

describe('internalDependency: the workspace package a spec orders the release after', () => {
  const versions = new Map([
    ['utils', '1.0.0'],
    ['@t/b', '2.0.0'],
  ]);
  it.each([
    ['utils', 'workspace:^', 'utils'],
    ['utils', 'file:../utils', 'utils'],
    ['utils', 'link:../utils', 'utils'],
    ['utils', '^1.0.0', 'utils'],
    ['utils', '1.0.0', 'utils'],
    ['utils', '*', 'utils'],
    ['utils', '', 'utils'],
    ['utils', 'latest', 'utils'],
    ['utils', '^0.9.0', undefined],
    ['utils', 'next', undefined],
    ['utils', 'github:org/repo', undefined],
    ['utils', 'npm:other@1', undefined],
    ['react', '^18.0.0', undefined],
    ['react', 'file:../react', undefined],
    // Aliases name the package they mean, under any dependency name.
    ['b-alias', 'workspace:@t/b@^', '@t/b'],
    ['utils', 'workspace:@t/b@*', '@t/b'],
    ['b-alias', 'npm:@t/b@^2.0.0', '@t/b'],
    ['b-alias', 'npm:@t/b@^1.0.0', undefined],
  ])('%s: "%s" → %s', (dep, spec, expected) => {
    expect(internalDependency(dep, spec, versions)).toBe(expected);
  });
});

describe('one reading of a spec for the release order and the packed manifest', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lockstep-internal-spec-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const write = (rel: string, json: unknown) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), JSON.stringify(json));
  };

  // The two used to disagree here: the rewrite made "b-alias" an npm: alias of the
  // workspace's @t/b at its release version, while the order read the dependency
  // name, found no workspace package "b-alias", and let app go first.
  it('an alias of a workspace package under another dependency name orders the release after that package, as the rewrite points at it', () => {
    write('libs/b/package.json', { name: '@t/b', version: '2.0.0' });
    write('apps/app/package.json', { name: '@t/app', version: '1.0.0', dependencies: { 'b-alias': 'workspace:@t/b@^', 'b-npm': 'npm:@t/b@^2.0.0' } });
    const projects = [
      { name: 'b', root: 'libs/b' },
      { name: 'app', root: 'apps/app' },
    ];
    const scanned = scanWorkspacePackages(projects, root, new Set(['b', 'app']));
    const app = scanned.byProject.get('app')!;
    expect(app.internalDeps).toEqual(['@t/b']);
    expect(app.depReasons).toEqual({ '@t/b': 'dependencies["b-alias"] is "workspace:@t/b@^"' });

    const packed = rewriteManifest({ name: '@t/app', version: '1.0.0', dependencies: { 'b-alias': 'workspace:@t/b@^', 'b-npm': 'npm:@t/b@^2.0.0' } }, {
      releaseVersions: new Map([['@t/b', '2.1.0']]),
      workspaceVersions: scanned.versions,
    });
    expect(packed.dependencies).toEqual({ 'b-alias': 'npm:@t/b@^2.1.0', 'b-npm': 'npm:@t/b@^2.0.0' });
  });
});
