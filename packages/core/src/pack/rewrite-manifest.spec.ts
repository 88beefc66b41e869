import * as path from 'path';
import { rewriteManifest } from './rewrite-manifest';

const releaseVersions = new Map([
  ['@ws/core', '1.1.0'],
  ['@ws/util', '2.1.0'],
]);
const workspaceVersions = new Map([
  ['@ws/core', '1.0.0'],
  ['@ws/util', '2.0.0'],
  ['@ws/tools', '0.5.0'],
  ['@ws/legacy', '0.1.0'],
]);
const opts = { releaseVersions, workspaceVersions };

describe('rewriteManifest', () => {
  it('turns workspace:*, ^, ~ and ranges into real versions in all four dependency fields', () => {
    const out = rewriteManifest(
      {
        name: '@ws/app',
        version: '3.0.0',
        dependencies: { '@ws/core': 'workspace:*', leftpad: '^1.0.0' },
        devDependencies: { '@ws/tools': 'workspace:~' },
        optionalDependencies: { '@ws/util': 'workspace:^' },
        peerDependencies: { '@ws/util': 'workspace:>=2.0.0 <3', '@ws/core': 'workspace:1.x' },
      },
      opts,
    );
    expect(out.dependencies).toEqual({ '@ws/core': '1.1.0', leftpad: '^1.0.0' });
    expect(out.devDependencies).toEqual({ '@ws/tools': '~0.5.0' });
    expect(out.optionalDependencies).toEqual({ '@ws/util': '^2.1.0' });
    expect(out.peerDependencies).toEqual({ '@ws/util': '>=2.0.0 <3', '@ws/core': '1.x' });
  });

  it('prefers the version being released over the current workspace version', () => {
    expect(rewriteManifest({ name: 'a', dependencies: { '@ws/core': 'workspace:*', '@ws/tools': 'workspace:*' } }, opts).dependencies).toEqual({
      '@ws/core': '1.1.0',
      '@ws/tools': '0.5.0',
    });
  });

  it('keeps every other field, the key order of the manifest and of each field, and does not mutate its input', () => {
    const input = {
      version: '1.0.0',
      name: 'a',
      scripts: { b: 'x' },
      dependencies: { z: '1', '@ws/core': 'workspace:*', a: 'workspace-not:really' },
      bin: { a: 'a.js' },
      publishConfig: { access: 'public' },
    };
    const snapshot = JSON.parse(JSON.stringify(input));
    const out = rewriteManifest(input, opts);
    expect(Object.keys(out)).toEqual(Object.keys(input));
    expect(Object.keys(out.dependencies)).toEqual(['z', '@ws/core', 'a']);
    expect(out.dependencies.a).toBe('workspace-not:really');
    expect(out).not.toBe(input);
    expect(input).toEqual(snapshot);
    expect(out.scripts).toEqual({ b: 'x' });
  });

  it('writes workspace:<name>@<range> aliases as npm: aliases, or plainly under their own name', () => {
    const out = rewriteManifest(
      {
        name: 'a',
        dependencies: {
          core: 'workspace:@ws/core@*',
          util: 'workspace:@ws/util@^',
          tools: 'workspace:@ws/tools@~',
          '@ws/core': 'workspace:@ws/core@^1.0.0',
        },
      },
      opts,
    );
    expect(out.dependencies).toEqual({
      core: 'npm:@ws/core@1.1.0',
      util: 'npm:@ws/util@^2.1.0',
      tools: 'npm:@ws/tools@~0.5.0',
      '@ws/core': '^1.0.0',
    });
  });

  it('turns file:, link: and workspace:<path> specs of workspace packages into exact versions (by dependency name)', () => {
    const out = rewriteManifest(
      { name: 'a', dependencies: { '@ws/legacy': 'file:../legacy', '@ws/tools': 'link:../tools', '@ws/util': 'workspace:../util', vendored: 'file:../vendor/x.tgz' } },
      opts,
    );
    expect(out.dependencies).toEqual({ '@ws/legacy': '0.1.0', '@ws/tools': '0.5.0', '@ws/util': '2.1.0', vendored: 'file:../vendor/x.tgz' });
  });

  it('matches file:, link: and workspace:<path> specs by folder when the workspace folders are known', () => {
    const root = path.resolve('/ws/packages');
    const workspaceDirs = new Map([
      ['@ws/legacy', path.join(root, 'legacy')],
      ['@ws/tools', path.join(root, 'tools')],
      ['@ws/util', path.join(root, 'util')],
    ]);
    const out = rewriteManifest(
      {
        name: 'a',
        dependencies: {
          '@ws/legacy': 'file:../legacy',
          'tools-alias': 'link:../tools/',
          '@ws/util': `file:${path.join(root, 'util')}`,
          u2: 'workspace:../util',
          '@ws/core': 'file:../elsewhere',
        },
      },
      { ...opts, packageDir: path.join(root, 'app'), workspaceDirs },
    );
    expect(out.dependencies).toEqual({
      '@ws/legacy': '0.1.0',
      'tools-alias': 'npm:@ws/tools@0.5.0',
      '@ws/util': '2.1.0',
      u2: 'npm:@ws/util@2.1.0',
      // points at no workspace folder: an external path spec, left as npm would publish it
      '@ws/core': 'file:../elsewhere',
    });
  });

  it.each([
    ['workspace:*', 'named "@ws/nope"'],
    ['workspace:^1.0.0', 'named "@ws/nope"'],
    ['workspace:@ws/missing@*', 'named "@ws/missing"'],
    ['workspace:../nowhere', 'at "../nowhere"'],
  ])('refuses %s naming no workspace package with EWORKSPACEDEP and a hint', (spec, what) => {
    let error: any;
    try {
      rewriteManifest({ name: '@ws/app', devDependencies: { '@ws/nope': spec } }, opts);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'EWORKSPACEDEP' });
    expect(error.message).toContain(`@ws/app: devDependencies["@ws/nope"] is "${spec}"`);
    expect(error.message).toContain(what);
    expect(error.hint).toMatch(/workspace|registry version/);
  });

  it.each(['workspace:', 'workspace:@ws/core@', 'workspace:latest'])('refuses the malformed spec %j with EWORKSPACEDEP', (spec) => {
    expect(() => rewriteManifest({ name: 'a', dependencies: { '@ws/core': spec } }, opts)).toThrow(expect.objectContaining({ code: 'EWORKSPACEDEP' }));
  });

  it('leaves non-object dependency fields and non-string specs alone', () => {
    const input = { name: 'a', dependencies: ['x'], peerDependencies: { x: 1 } as Record<string, unknown> };
    expect(rewriteManifest(input as Record<string, unknown>, opts)).toEqual(input);
  });
});
