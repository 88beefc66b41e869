import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readWorkspacePackages, resolvePackageRoot, scanWorkspacePackages } from './workspace-packages';

// One temp workspace per test, for both describe blocks below.
let root: string;
const write = (rel: string, json: unknown) => {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), typeof json === 'string' ? json : JSON.stringify(json));
};
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lockstep-wsp-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('readWorkspacePackages', () => {

  it('reads names, versions and the internal runtime dependencies (not devDependencies)', () => {
    write('libs/utils/package.json', { name: '@d/utils', version: '1.0.0' });
    write('libs/ui/package.json', { name: '@d/ui', version: '2.0.0', dependencies: { '@d/utils': 'workspace:^', react: '^18' }, devDependencies: { '@d/tools': 'workspace:*' } });
    write('tools/package.json', { name: '@d/tools', version: '0.1.0', private: true });
    const result = readWorkspacePackages(
      [
        { name: 'utils', root: 'libs/utils' },
        { name: 'ui', root: 'libs/ui' },
        { name: 'tools', root: 'tools' },
        { name: 'docs', root: 'docs' },
      ],
      root,
      new Set(['ui', 'utils']),
    );
    expect(result.byProject.get('ui')).toMatchObject({ name: '@d/ui', version: '2.0.0', internalDeps: ['@d/utils'], private: false, project: 'ui' });
    expect(result.byProject.get('tools')).toMatchObject({ private: true });
    expect(result.byProject.has('docs')).toBe(false);
    expect(Object.fromEntries(result.versions)).toEqual({ '@d/utils': '1.0.0', '@d/ui': '2.0.0', '@d/tools': '0.1.0' });
  });

  it('reads from packageRoot with {projectRoot} replaced', () => {
    write('dist/libs/utils/package.json', { name: '@d/utils', version: '3.0.0' });
    const project = { name: 'utils', root: 'libs/utils', packageRoot: 'dist/{projectRoot}' };
    expect(resolvePackageRoot(project, root)).toBe(path.join(root, 'dist/libs/utils'));
    expect(readWorkspacePackages([project], root, new Set(['utils'])).byProject.get('utils')?.version).toBe('3.0.0');
  });

  it('explains a missing package.json of a project in the run, pointing at packageRoot', () => {
    expect(() => readWorkspacePackages([{ name: 'utils', root: 'libs/utils', packageRoot: 'dist/utils' }], root, new Set(['utils']))).toThrow(
      expect.objectContaining({ code: 'EPACK', hint: expect.stringContaining('dependsOn') }),
    );
  });

  it('refuses a package of the run without a version, and invalid JSON', () => {
    write('a/package.json', { name: 'a' });
    expect(() => readWorkspacePackages([{ name: 'a', root: 'a' }], root, new Set(['a']))).toThrow(expect.objectContaining({ code: 'EPACK' }));
    write('b/package.json', '{ nope');
    expect(() => readWorkspacePackages([{ name: 'b', root: 'b' }], root, new Set())).toThrow(expect.objectContaining({ code: 'EPACK', message: expect.stringContaining('not valid JSON') }));
  });
});

describe('scanWorkspacePackages (what the G6 preflight starts from)', () => {

  it('collects every unreadable package of the run instead of throwing the first, and leaves those projects out', () => {
    write('ok/package.json', { name: '@d/ok', version: '1.0.0' });
    write('json/package.json', '{ nope');
    write('noversion/package.json', { name: '@d/noversion' });
    write('dup/package.json', { name: '@d/ok', version: '1.0.0' });
    const scanned = scanWorkspacePackages(
      ['ok', 'json', 'noversion', 'missing', 'dup'].map((name) => ({ name, root: name })),
      root,
      new Set(['ok', 'json', 'noversion', 'missing', 'dup']),
    );
    expect(scanned.problems.map((p) => `${p.subject}: ${p.error.code}`)).toEqual([
      'project json: EPACK',
      'project noversion: EPACK',
      'project missing: EPACK',
      'project dup: EPACK',
    ]);
    expect(scanned.problems[3].error.message).toBe('Projects ok and dup both publish @d/ok.');
    expect([...scanned.byProject.keys()]).toEqual(['ok']);
  });

  it('records why a package depends on each workspace package, and the ranges that resolve on the registry instead', () => {
    write('a/package.json', { name: '@d/a', version: '1.0.0' });
    write('b/package.json', {
      name: '@d/b',
      version: '1.0.0',
      dependencies: { '@d/a': 'workspace:^' },
      peerDependencies: { '@d/c': '^0.9.0' },
      devDependencies: { '@d/c': '^0.8.0' },
    });
    write('c/package.json', { name: '@d/c', version: '1.0.0' });
    const b = scanWorkspacePackages(['a', 'b', 'c'].map((name) => ({ name, root: name })), root, new Set(['a', 'b', 'c'])).byProject.get('b')!;
    expect(b.internalDeps).toEqual(['@d/a']);
    expect(b.depReasons).toEqual({ '@d/a': 'dependencies["@d/a"] is "workspace:^"' });
    expect(b.registryRanges).toEqual([{ name: '@d/c', field: 'peerDependencies', range: '^0.9.0' }]);
  });
});
