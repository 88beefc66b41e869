import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { checkPackage } from './check-package';
import { packPackage } from './pack-package';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('checkPackage (the packing half of the G6 preflight)', () => {
  const tmp = useTempDir('lockstep-check-');
  const ws = () => path.join(tmp(), 'ws');
  const pkg = (name: string) => path.join(ws(), 'packages', name);
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(ws(), rel)), { recursive: true });
    writeFileSync(path.join(ws(), rel), text);
  };
  const releaseVersions = new Map([
    ['@ws/core', '1.1.0'],
    ['@ws/app', '2.0.0'],
  ]);
  const options = () => ({ releaseVersions, workspaceVersions: new Map([['@ws/tools', '0.5.0']]), workspaceRoot: ws() });

  beforeEach(() => {
    write('package.json', json({ name: 'root', private: true, workspaces: ['packages/*'] }));
    write('packages/core/package.json', json({ name: '@ws/core', version: '1.1.0', main: 'index.js' }));
    write('packages/core/index.js', 'module.exports = 1;\n');
  });

  it('a sound package: no problem, and the same file list packPackage puts in the tarball; nothing is written anywhere', async () => {
    write('packages/app/package.json', json({ name: '@ws/app', version: '2.0.0', dependencies: { '@ws/core': 'workspace:^' }, devDependencies: { '@ws/tools': 'workspace:*' } }));
    write('packages/app/index.js', 'app\n');
    write('packages/app/test/x.test.js', 'test\n');
    write('packages/app/.npmignore', 'test/\n');
    const staging = path.join(tmp(), 'staging');
    const checked = await checkPackage(pkg('app'), options());
    expect(checked).toMatchObject({ name: '@ws/app', problems: [] });
    expect(existsSync(staging)).toBe(false);
    const packed = await packPackage(pkg('app'), { ...options(), stagingRoot: staging });
    expect([...checked.files].sort()).toEqual([...packed.files].sort());
  });

  it('finds every bad internal spec of a manifest at once (all four fields), where packPackage stops at the first', async () => {
    write(
      'packages/bad/package.json',
      json({
        name: '@ws/bad',
        version: '1.0.0',
        dependencies: { '@ws/ghost': 'workspace:*', '@ws/core': 'workspace:' },
        devDependencies: { '@ws/phantom': 'workspace:^' },
        peerDependencies: { '@ws/core': 'workspace:latest' },
      }),
    );
    const { problems } = await checkPackage(pkg('bad'), options());
    expect(problems.map((p) => p.code)).toEqual(['EWORKSPACEDEP', 'EWORKSPACEDEP', 'EWORKSPACEDEP', 'EWORKSPACEDEP']);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/@ws\/ghost[\s\S]*names no range[\s\S]*@ws\/phantom[\s\S]*neither a version range/);
    await expect(packPackage(pkg('bad'), options())).rejects.toMatchObject({ code: 'EWORKSPACEDEP' });
  });

  it('an invalid version, an invalid name, a missing package.json: EPACK, as packPackage would say', async () => {
    write('packages/v/package.json', json({ name: '@ws/v', version: '1.0' }));
    write('packages/n/package.json', json({ name: 'Has Space', version: '1.0.0' }));
    expect((await checkPackage(pkg('v'), options())).problems).toEqual([expect.objectContaining({ code: 'EPACK', message: expect.stringMatching(/not an exact semver/) })]);
    expect((await checkPackage(pkg('n'), options())).problems).toEqual([expect.objectContaining({ code: 'EPACK' })]);
    expect((await checkPackage(pkg('none'), options())).problems).toEqual([expect.objectContaining({ code: 'EPACK', message: expect.stringMatching(/no package\.json/) })]);
  });

  it('refuses a file:/link: spec a consumer would have to install from a local path (install-time fields only), and bundleDependencies with it', async () => {
    write(
      'packages/local/package.json',
      json({
        name: '@ws/local',
        version: '1.0.0',
        dependencies: { vendored: 'file:../../vendor/v.tgz', '@ws/core': 'file:../core' },
        optionalDependencies: { linked: 'link:../elsewhere' },
        devDependencies: { 'build-tool': 'file:../../tools/build' },
        bundleDependencies: ['vendored'],
      }),
    );
    const { problems } = await checkPackage(pkg('local'), options());
    const text = problems.map((p) => `${p.code} ${p.message}`).join('\n');
    expect(problems).toHaveLength(3);
    expect(text).toMatch(/EPACK .*bundleDependencies/);
    expect(text).toMatch(/EWORKSPACEDEP @ws\/local: dependencies\["vendored"\] is "file:..\/..\/vendor\/v.tgz"/);
    expect(text).toMatch(/EWORKSPACEDEP @ws\/local: optionalDependencies\["linked"\] is "link:..\/elsewhere"/);
    expect(text).not.toMatch(/build-tool|@ws\/core/);
  });

  it('an unreadable file npm would publish is EPACK naming it (not as root, where everything is readable)', async () => {
    if (process.getuid?.() === 0) return;
    write('packages/core/secret.js', 'x\n');
    chmodSync(path.join(pkg('core'), 'secret.js'), 0o000);
    try {
      const { problems } = await checkPackage(pkg('core'), options());
      expect(problems).toEqual([expect.objectContaining({ code: 'EPACK', message: expect.stringContaining('secret.js (EACCES)') })]);
    } finally {
      chmodSync(path.join(pkg('core'), 'secret.js'), 0o644);
    }
    expect(readdirSync(pkg('core')).sort()).toEqual(['index.js', 'package.json', 'secret.js']);
  });
});
