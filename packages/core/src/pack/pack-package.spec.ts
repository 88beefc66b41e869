import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';
import { commitTree } from '../atomic/commit-tree';
import { useTempDir } from '../test-utils/temp-dir';
import { packPackage } from './pack-package';
import { stagePackage } from './stage-package';

// tar is what pacote packs with; tests read tarballs back with it.
const tar = require('tar');
const ssri = require('ssri');

type Tree = Record<string, string | { text: string; mode: number }>;

function writeTree(root: string, tree: Tree): void {
  for (const [rel, content] of Object.entries(tree)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    const { text, mode } = typeof content === 'string' ? { text: content, mode: 0o644 } : content;
    writeFileSync(file, text);
    chmodSync(file, mode);
  }
}

const json = (value: unknown, indent: string | number = 2) => `${JSON.stringify(value, null, indent)}\n`;

/** The workspace every test packs from: internal specs of every kind, `files`, `.npmignore`, root `.gitignore`. */
function makeWorkspace(ws: string): void {
  writeTree(ws, {
    'package.json': json({ name: 'ws-root', private: true, workspaces: ['packages/*'] }),
    '.gitignore': 'node_modules\n*.log\n',
    'packages/core/package.json': json({ name: '@ws/core', version: '1.0.0', main: 'index.js', license: 'MIT' }),
    'packages/core/index.js': 'module.exports = 1;\n',
    'packages/core/README.md': '# core\n',
    'packages/core/LICENSE': 'MIT\n',
    'packages/core/scripts/run.sh': { text: '#!/bin/sh\necho run\n', mode: 0o755 },
    'packages/core/test/core.test.js': 'test\n',
    'packages/core/.npmrc': '//registry.example/:_authToken=secret\n',
    'packages/core/node_modules/dep/index.js': 'dep\n',
    'packages/core/core.log': 'a log the root .gitignore excludes\n',
    'packages/util/package.json': json({
      name: '@ws/util',
      version: '2.0.0',
      main: 'dist/index.js',
      files: ['dist', '!dist/**/*.map'],
      dependencies: { '@ws/core': 'workspace:^' },
    }),
    'packages/util/dist/index.js': 'util\n',
    'packages/util/dist/index.js.map': '{}\n',
    'packages/util/dist/deep/x.d.ts': 'export {};\n',
    'packages/util/src/index.ts': 'export {};\n',
    'packages/util/CHANGELOG.md': 'changes\n',
    'packages/util/README.md': '# util\n',
    'packages/app/package.json': json(
      {
        name: '@ws/app',
        version: '3.0.0',
        description: 'keys keep their order',
        bin: { app: 'bin/app.js' },
        scripts: { prepack: "node -e \"require('fs').writeFileSync('PREPACK_RAN', '')\"" },
        dependencies: { '@ws/core': 'workspace:*', '@ws/util': 'workspace:^', '@ws/legacy': 'file:../legacy', leftpad: '^1.3.0' },
        devDependencies: { '@ws/tools': 'workspace:~' },
        optionalDependencies: { '@ws/linked': 'link:../linked' },
        peerDependencies: { '@ws/util': 'workspace:>=2' },
        keywords: ['z', 'a'],
      },
      4,
    ),
    'packages/app/bin/app.js': { text: '#!/usr/bin/env node\nrequire("../lib");\n', mode: 0o755 },
    'packages/app/lib/index.js': 'app\n',
    'packages/app/test/app.test.js': 'test\n',
    'packages/app/notes.tmp': 'tmp\n',
    'packages/app/debug.log': 'log\n',
    'packages/app/.npmignore': 'test/\n*.tmp\n',
    'packages/legacy/package.json': json({ name: '@ws/legacy', version: '0.1.0' }),
    'packages/tools/package.json': json({ name: '@ws/tools', version: '0.5.0' }),
    'packages/linked/package.json': json({ name: '@ws/linked', version: '0.2.0' }),
    'packages/empty/README.md': 'no package.json here\n',
  });
}

const releaseVersions = new Map([
  ['@ws/core', '1.1.0'],
  ['@ws/util', '2.1.0'],
  ['@ws/app', '3.0.0'],
]);
const workspaceVersions = new Map([
  ['@ws/core', '1.0.0'],
  ['@ws/util', '2.0.0'],
  ['@ws/app', '3.0.0'],
  ['@ws/legacy', '0.1.0'],
  ['@ws/tools', '0.5.0'],
  ['@ws/linked', '0.2.0'],
]);

interface TarEntry {
  data: Buffer;
  mode: number;
  mtime?: Date;
}

async function readTarball(tgz: Buffer): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser();
    parser.on('entry', (entry: any) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => entries.set(entry.path, { data: Buffer.concat(chunks), mode: entry.mode, mtime: entry.mtime }));
    });
    parser.on('error', reject);
    parser.on('end', resolve);
    parser.end(tgz);
  });
  return entries;
}

/** A real `npm pack` (a node process that loads all of npm) can take many seconds on a busy 2-core machine. */
const NPM_PACK_TIMEOUT_MS = 60_000;

/** What npm itself would publish from `dir`: `npm pack --dry-run --json`. */
function npmPack(dir: string, cache: string): { files: Array<{ path: string; mode: number }>; integrity: string; shasum: string; size: number; unpackedSize: number } {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false', npm_config_loglevel: 'error', npm_config_fund: 'false' },
  });
  return JSON.parse(out)[0];
}

/** Every file under `dir` with its bytes' hash, mode and mtime: to prove packing never touches the source. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        continue;
      }
      const st = statSync(full);
      out[path.relative(dir, full)] = `${createHash('sha256').update(readFileSync(full)).digest('hex')} ${st.mode.toString(8)} ${st.mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

describe('packPackage', () => {
  const tmp = useTempDir('lockstep-pack-');
  const ws = () => path.join(tmp(), 'ws');
  const pkg = (name: string) => path.join(ws(), 'packages', name);
  const staging = () => path.join(tmp(), 'staging');
  const options = () => ({ releaseVersions, workspaceVersions, workspaceRoot: ws(), stagingRoot: staging() });

  beforeEach(() => makeWorkspace(ws()));

  it('packs a staged copy whose package.json has real versions for every internal spec, keeping key order', async () => {
    const result = await packPackage(pkg('app'), options());
    const entries = await readTarball(result.tarball);
    const packedText = entries.get('package/package.json')!.data.toString('utf8');
    const packed = JSON.parse(packedText);
    expect(packed.dependencies).toEqual({ '@ws/core': '1.1.0', '@ws/util': '^2.1.0', '@ws/legacy': '0.1.0', leftpad: '^1.3.0' });
    expect(packed.devDependencies).toEqual({ '@ws/tools': '~0.5.0' });
    expect(packed.optionalDependencies).toEqual({ '@ws/linked': '0.2.0' });
    expect(packed.peerDependencies).toEqual({ '@ws/util': '>=2' });
    expect(packedText).not.toMatch(/workspace:|file:|link:/);
    const source = JSON.parse(readFileSync(path.join(pkg('app'), 'package.json'), 'utf8'));
    expect(Object.keys(packed)).toEqual(Object.keys(source));
    expect(packed.keywords).toEqual(['z', 'a']);
    expect(packedText).toBe(json(packed, 4));
    expect(result.manifest).toEqual(packed);
  });

  it('never touches the source: every file of the workspace keeps its bytes, mode and mtime; no script runs', async () => {
    const before = snapshot(ws());
    for (const name of ['app', 'util', 'core']) await packPackage(pkg(name), options());
    expect(snapshot(ws())).toEqual(before);
    expect(existsSync(path.join(pkg('app'), 'PREPACK_RAN'))).toBe(false);
  });

  it.each(['app', 'util', 'core'])('publishes exactly the files `npm pack` in the same folder lists (%s)', async (name) => {
    const result = await packPackage(pkg(name), options());
    const npm = npmPack(pkg(name), path.join(tmp(), 'npm-cache'));
    expect([...result.files].sort()).toEqual(npm.files.map((f) => f.path).sort());
    const entries = await readTarball(result.tarball);
    expect([...entries.keys()].sort()).toEqual(result.files.map((f) => `package/${f}`).sort());
    expect(result.unpackedSize).toBe([...entries.values()].reduce((sum, e) => sum + e.data.length, 0));
  }, NPM_PACK_TIMEOUT_MS);

  it('chooses files by npm rules: `files` with negation, .npmignore, root .gitignore, never .npmrc or node_modules', async () => {
    expect((await packPackage(pkg('util'), options())).files.sort()).toEqual(['README.md', 'dist/deep/x.d.ts', 'dist/index.js', 'package.json']);
    expect((await packPackage(pkg('app'), options())).files.sort()).toEqual(['bin/app.js', 'lib/index.js', 'package.json']);
    const core = (await packPackage(pkg('core'), options())).files.sort();
    expect(core).toEqual(['LICENSE', 'README.md', 'index.js', 'package.json', 'scripts/run.sh', 'test/core.test.js']);
    // Without the workspace root, only the package's own ignore files apply (npm outside a workspace).
    const alone = await packPackage(pkg('core'), { ...options(), workspaceRoot: undefined });
    expect(alone.files).toContain('core.log');
  });

  it('gives a package without internal specs the very bytes `npm pack` makes', async () => {
    const result = await packPackage(pkg('core'), options());
    const npm = npmPack(pkg('core'), path.join(tmp(), 'npm-cache'));
    expect(result.integrity).toBe(npm.integrity);
    expect(result.shasum).toBe(npm.shasum);
    expect(result.size).toBe(npm.size);
    expect(result.unpackedSize).toBe(npm.unpackedSize);
  }, NPM_PACK_TIMEOUT_MS);

  it('packs what `npm pack` packs, byte for byte: bins given as a string with ./, as directories.bin, plain files 0600, a path over 100 characters, a 300 KB file, a file of exactly 1024 bytes', async () => {
    const long = `lib/${'deep/'.repeat(20)}file.js`;
    writeTree(ws(), {
      'packages/strbin/package.json': json({ name: 'strbin', version: '1.0.0', bin: './cli.js' }),
      'packages/strbin/cli.js': '#!/usr/bin/env node\n',
      'packages/strbin/private.js': { text: 'x\n', mode: 0o600 },
      // 300 KB that compresses only partly: gzip's output must not depend on how the bytes are fed to it.
      'packages/strbin/big.js': Array.from({ length: 20_000 }, (_, i) => `${((i * 2654435761) >>> 0).toString(36)}\n`).join(''),
      'packages/strbin/exact.bin': 'y'.repeat(1024),
      [`packages/strbin/${long}`]: 'long\n',
      'packages/dirbin/package.json': json({ name: '@ws/dirbin', version: '1.0.0', directories: { bin: './tools' } }),
      'packages/dirbin/tools/a.js': 'a\n',
      'packages/dirbin/tools/sub/b.js': 'b\n',
      'packages/dirbin/other.js': 'other\n',
    });
    for (const name of ['strbin', 'dirbin']) {
      const result = await packPackage(pkg(name), options());
      const npm = npmPack(pkg(name), path.join(tmp(), 'npm-cache'));
      expect({ name, integrity: result.integrity, shasum: result.shasum, size: result.size }).toEqual({ name, integrity: npm.integrity, shasum: npm.shasum, size: npm.size });
    }
    const strbin = await readTarball((await packPackage(pkg('strbin'), options())).tarball);
    expect(strbin.get('package/cli.js')!.mode & 0o111).toBe(0o111);
    expect(strbin.has(`package/${long}`)).toBe(true);
    // directories.bin: npm's bin rule compares paths without their first segment, so tools/a.js keeps its own mode there; the bytes above say we do the same.
  }, 3 * NPM_PACK_TIMEOUT_MS);

  it('computes integrity (sha512 SRI) and shasum locally over the tarball bytes', async () => {
    const result = await packPackage(pkg('app'), options());
    expect(result.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(result.integrity).toBe(ssri.fromData(result.tarball, { algorithms: ['sha512'] }).toString());
    expect(ssri.checkData(result.tarball, result.integrity)).toBeTruthy();
    expect(result.shasum).toBe(createHash('sha1').update(result.tarball).digest('hex'));
    expect(result.size).toBe(result.tarball.length);
  });

  it('is deterministic: same content, same bytes, whatever the mtimes, the staging folder or the order of packing', async () => {
    const first = await packPackage(pkg('app'), options());
    const future = new Date(Date.now() + 86_400_000);
    for (const f of ['bin/app.js', 'lib/index.js', 'package.json']) utimesSync(path.join(pkg('app'), f), future, future);
    const second = await packPackage(pkg('app'), { ...options(), stagingRoot: path.join(tmp(), 'elsewhere') });
    expect(second.integrity).toBe(first.integrity);
    expect(second.tarball.equals(first.tarball)).toBe(true);
    for (const entry of (await readTarball(first.tarball)).values()) expect(entry.mtime?.toISOString()).toBe('1985-10-26T08:15:00.000Z');
    writeFileSync(path.join(pkg('app'), 'lib/index.js'), 'changed\n');
    expect((await packPackage(pkg('app'), options())).integrity).not.toBe(first.integrity);
  });

  it('keeps file modes: bins and other executables stay executable, plain files 0644', async () => {
    const entries = await readTarball((await packPackage(pkg('core'), options())).tarball);
    expect(entries.get('package/scripts/run.sh')!.mode & 0o777).toBe(0o755);
    expect(entries.get('package/index.js')!.mode & 0o777).toBe(0o644);
    const app = await readTarball((await packPackage(pkg('app'), options())).tarball);
    expect(app.get('package/bin/app.js')!.mode & 0o111).toBe(0o111);
  });

  it('lays out a rewritten package.json like its source: tabs, CRLF, no final newline', async () => {
    const text = JSON.stringify({ name: '@ws/crlf', version: '1.0.0', dependencies: { '@ws/core': 'workspace:*' } }, null, '\t').replace(/\n/g, '\r\n');
    writeTree(ws(), { 'packages/crlf/package.json': text });
    const result = await packPackage(pkg('crlf'), options());
    const packed = (await readTarball(result.tarball)).get('package/package.json')!.data.toString('utf8');
    expect(packed).toBe(text.replace('workspace:*', '1.1.0'));
  });

  it('removes its staging folder after packing', async () => {
    await packPackage(pkg('app'), options());
    await packPackage(pkg('core'), options());
    expect(readdirSync(staging())).toEqual([]);
  });

  describe('bad input is EPACK or EWORKSPACEDEP with a hint', () => {
    const expectRejection = async (dir: string, code: string, message: RegExp) => {
      let error: any;
      await packPackage(dir, options()).catch((e) => (error = e));
      expect(error).toMatchObject({ code });
      expect(error.message).toMatch(message);
      expect(error.hint).toEqual(expect.any(String));
    };

    it('a folder without package.json', () => expectRejection(pkg('empty'), 'EPACK', /no package\.json in .*empty/));
    it('a folder that does not exist', () => expectRejection(pkg('nope'), 'EPACK', /no package\.json/));
    it('invalid JSON', async () => {
      writeTree(ws(), { 'packages/broken/package.json': '{ "name": "@ws/broken", ' });
      await expectRejection(pkg('broken'), 'EPACK', /not valid JSON/);
    });
    it('a JSON array', async () => {
      writeTree(ws(), { 'packages/arr/package.json': '[]' });
      await expectRejection(pkg('arr'), 'EPACK', /not hold a JSON object/);
    });
    it('no name and no version', async () => {
      writeTree(ws(), { 'packages/anon/package.json': json({ description: 'x' }) });
      await expectRejection(pkg('anon'), 'EPACK', /has no "name" and "version"/);
    });
    it('no version', async () => {
      writeTree(ws(), { 'packages/nov/package.json': json({ name: 'nov' }) });
      await expectRejection(pkg('nov'), 'EPACK', /has no "version"/);
    });
    it('a version that is not exact semver', async () => {
      writeTree(ws(), { 'packages/v/package.json': json({ name: 'v', version: 'v1.0.0' }) });
      await expectRejection(pkg('v'), 'EPACK', /not an exact semver/);
    });
    it('an invalid name', async () => {
      writeTree(ws(), { 'packages/n/package.json': json({ name: 'has space', version: '1.0.0' }) });
      await expectRejection(pkg('n'), 'EPACK', /Invalid package name/);
    });
    it('bundleDependencies', async () => {
      writeTree(ws(), { 'packages/b/package.json': json({ name: 'b', version: '1.0.0', dependencies: { x: '1' }, bundleDependencies: ['x'] }) });
      await expectRejection(pkg('b'), 'EPACK', /bundleDependencies/);
    });
    it('a workspace: dependency on no workspace package', async () => {
      writeTree(ws(), { 'packages/w/package.json': json({ name: 'w', version: '1.0.0', dependencies: { '@ws/ghost': 'workspace:*' } }) });
      await expectRejection(pkg('w'), 'EWORKSPACEDEP', /no workspace package is named "@ws\/ghost"/);
      expect(existsSync(staging()) ? readdirSync(staging()) : []).toEqual([]);
    });
  });
});

describe('stagePackage', () => {
  const tmp = useTempDir('lockstep-stage-');
  const ws = () => path.join(tmp(), 'ws');
  const pkg = (name: string) => path.join(ws(), 'packages', name);

  beforeEach(() => makeWorkspace(ws()));

  it('returns the publish-ready files in memory, which a generator commits into a folder that packs to the same bytes', async () => {
    const staged = await stagePackage(pkg('app'), { releaseVersions, workspaceVersions, workspaceRoot: ws() });
    expect(staged.files.map((f) => f.path).sort()).toEqual(['bin/app.js', 'lib/index.js', 'package.json']);
    expect(JSON.parse(staged.files.find((f) => f.path === 'package.json')!.data.toString()).dependencies['@ws/core']).toBe('1.1.0');
    expect(staged.files.find((f) => f.path === 'bin/app.js')!.mode).toBe(0o755);

    const out = path.join(tmp(), 'out');
    await commitTree(
      out,
      staged.files.map((f) => ({ path: f.path, source: { data: f.data } })),
    );
    // commitTree writes 0644; a tarball keeps modes (pacote's forced +x only reaches bins at the package root).
    for (const f of staged.files) chmodSync(path.join(out, f.path), f.mode);
    const fromFolder = await packPackage(out, { releaseVersions, workspaceVersions, stagingRoot: path.join(tmp(), 's') });
    const direct = await packPackage(pkg('app'), { releaseVersions, workspaceVersions, workspaceRoot: ws(), stagingRoot: path.join(tmp(), 's') });
    expect(fromFolder.integrity).toBe(direct.integrity);
  });

  it('stages an unchanged package.json byte for byte', async () => {
    const staged = await stagePackage(pkg('core'), { releaseVersions, workspaceVersions });
    expect(staged.files.find((f) => f.path === 'package.json')!.data.equals(readFileSync(path.join(pkg('core'), 'package.json')))).toBe(true);
  });
});
