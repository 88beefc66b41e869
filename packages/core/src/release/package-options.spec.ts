import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RegistryPort } from '../publish/types';
import { createReleaseServices } from './default-services';
import { releaseOptions } from '../test-utils/release-options';
import type { ReleaseOptions } from './options';
import { RunReleaseInput, runRelease } from './run-release';
import { ReleaseServices, RegistrySettings } from './services';

/**
 * runRelease with each project's own options (batch mode), nx release's
 * version data, and cycles: real journal, packing and preflight, fake
 * registries (one per registry client the run asks for).
 */
jest.setTimeout(60_000);

interface Upload {
  at: string;
  name: string;
  tag: string;
  access?: string;
  otp?: string;
}

/** Registries by URL (undefined: npm's configuration), sharing one log of events in order. */
function fakeRegistries(seed: Record<string, string[]> = {}) {
  const events: string[] = [];
  const uploads: Upload[] = [];
  const created: RegistrySettings[] = [];
  const stores = new Map<string, Map<string, string>>();
  const store = (url: string) => {
    let s = stores.get(url);
    if (!s) {
      s = new Map((seed[url] ?? []).map((id) => [id, `sha512-seeded-${id}`]));
      stores.set(url, s);
    }
    return s;
  };
  const create = (settings: RegistrySettings): RegistryPort => {
    created.push(settings);
    const url = settings.registry ?? 'http://default.test/';
    const published = store(url);
    return {
      registry: url,
      getPublished: async (name, version) => {
        const integrity = published.get(`${name}@${version}`);
        return integrity ? { integrity, distTags: { latest: version } } : undefined;
      },
      publish: async (manifest, _tarball, o) => {
        const id = `${manifest.name}@${manifest.version}`;
        events.push(`upload ${id}`);
        uploads.push({ at: url, name: String(manifest.name), tag: o.tag, access: o.access, otp: o.otp });
        await new Promise((r) => setTimeout(r, 5));
        published.set(id, o.integrity);
        return 'published';
      },
      ensureDistTag: async () => false,
      waitUntilVisible: async (name, version) => {
        events.push(`visible ${name}@${version}`);
      },
      checkCredentials: async () => undefined,
    };
  };
  return { events, uploads, created, create, has: (url: string, id: string) => store(url).has(id) };
}

describe('runRelease with per-project options, version data and cycles', () => {
  let root: string;
  let invocations = 0;
  const write = (rel: string, value: unknown) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
  };
  const cacheDir = () => path.join(root, '.nx', 'cache');
  const pkgJson = (name: string, deps: Record<string, string> = {}) => ({ name: `@t/${name}`, version: '1.0.0', main: 'index.js', dependencies: deps });

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lockstep-package-options-'));
    write('package.json', { name: 'root', private: true, workspaces: ['packages/*'] });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function addPackage(name: string, deps: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
    write(`packages/${name}/package.json`, { ...pkgJson(name, deps), ...extra });
    write(`packages/${name}/index.js`, `module.exports = ${JSON.stringify(name)};\n`);
  }

  async function run(
    fake: ReturnType<typeof fakeRegistries>,
    names: string[],
    optionsFor: (project: string) => Partial<ReleaseOptions>,
    lines: string[] = [],
  ): Promise<Awaited<ReturnType<typeof runRelease>>> {
    const log = (line: string) => void lines.push(line);
    const byProject = new Map<string, ReleaseOptions>(names.map((n) => [n, releaseOptions(optionsFor(n))]));
    const options = byProject.get(names[0])!;
    const real = createReleaseServices(options, { workspaceRoot: root, cacheDir: cacheDir(), env: {}, log });
    const services: ReleaseServices = { ...real, createRegistry: async (settings) => fake.create(settings ?? options) };
    const input: RunReleaseInput = {
      workspaceRoot: root,
      cacheDir: cacheDir(),
      targetName: 'publish',
      projects: names.map((name) => ({ name, root: `packages/${name}` })),
      runProjects: names,
      options,
      optionsByProject: byProject,
      services,
      log,
      // Each call is its own Nx invocation (a failed preflight is remembered per run).
      env: { NX_INVOCATION_ROOT_PID: String(process.pid * 100 + ++invocations) },
    };
    return runRelease(input);
  }

  it('batch: each package is published with its own task\'s tag, access, OTP and registry (one client per registry)', async () => {
    addPackage('a');
    addPackage('b', { '@t/a': 'workspace:^' });
    addPackage('c');
    const fake = fakeRegistries();
    const { summary } = await run(fake, ['a', 'b', 'c'], (p) =>
      p === 'a'
        ? { tag: 'next', access: 'public', otp: '000111' }
        : p === 'b'
          ? { tag: 'beta', access: 'restricted', registry: 'http://other.test/' }
          : {},
    );
    expect(summary.ok).toBe(true);
    expect(fake.uploads.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { at: 'http://default.test/', name: '@t/a', tag: 'next', access: 'public', otp: '000111' },
      { at: 'http://other.test/', name: '@t/b', tag: 'beta', access: 'restricted', otp: undefined },
      { at: 'http://default.test/', name: '@t/c', tag: 'latest', access: undefined, otp: undefined },
    ]);
    // One client per distinct registry, retries and OTP (a's OTP makes its own).
    expect(fake.created.map((s) => `${s.registry ?? 'npm'} ${s.otp ?? '-'}`).sort()).toEqual(['http://other.test/ -', 'npm -', 'npm 000111']);
  });

  it('nx release version data: a project not bumped (newVersion null) is not uploaded, only confirmed on the registry; its dependent goes on', async () => {
    addPackage('kept');
    addPackage('user', { '@t/kept': 'workspace:^' });
    const fake = fakeRegistries({ 'http://default.test/': ['@t/kept@1.0.0'] });
    const versionData = new Map([['kept', { newVersion: null }], ['user', { newVersion: '1.0.0' }]]);
    const { summary } = await run(fake, ['kept', 'user'], () => ({ versionData }));
    expect(summary.ok).toBe(true);
    expect(fake.uploads.map((u) => u.name)).toEqual(['@t/user']);
    expect(summary.packages.find((p) => p.name === '@t/kept')).toMatchObject({ status: 'skipped', note: expect.stringContaining('nx release did not bump it') });
  });

  it('nx release version data: a project not bumped that is not on the registry fails the run before the first upload (G6); with firstRelease it is published', async () => {
    addPackage('kept');
    addPackage('user', { '@t/kept': 'workspace:^' });
    const versionData = new Map([['kept', { newVersion: null }], ['user', { newVersion: '1.0.0' }]]);
    const fake = fakeRegistries();
    await expect(run(fake, ['kept', 'user'], () => ({ versionData }))).rejects.toMatchObject({
      code: 'EPREFLIGHT',
      message: expect.stringContaining('@t/kept@1.0.0 should already be on http://default.test/ (nx release did not bump it (newVersion null)), and is not.'),
    });
    expect(fake.uploads).toEqual([]);

    const first = fakeRegistries();
    const { summary } = await run(first, ['kept', 'user'], () => ({ versionData, firstRelease: true, resume: 'fresh' as const }));
    expect(summary.ok).toBe(true);
    expect(first.uploads.map((u) => u.name).sort()).toEqual(['@t/kept', '@t/user']);
  });

  it('a cycle: told once which packages form it; each member published once; the dependent after both are verified', async () => {
    addPackage('base');
    addPackage('a', { '@t/b': 'workspace:*', '@t/base': 'workspace:^' });
    addPackage('b', { '@t/a': 'workspace:*' });
    addPackage('app', { '@t/a': 'workspace:^' });
    const fake = fakeRegistries();
    const lines: string[] = [];
    const { summary } = await run(fake, ['a', 'app', 'b', 'base'], () => ({}), lines);
    expect(summary.ok).toBe(true);
    expect(fake.uploads.map((u) => u.name).sort()).toEqual(['@t/a', '@t/app', '@t/b', '@t/base']);
    expect(lines.filter((l) => l.includes('depend on each other in a cycle'))).toEqual([expect.stringContaining('@t/a ⇄ @t/b.')]);
    const at = (e: string) => fake.events.indexOf(e);
    expect(at('upload @t/a@1.0.0')).toBeGreaterThan(at('visible @t/base@1.0.0'));
    expect(at('upload @t/b@1.0.0')).toBeGreaterThan(at('visible @t/base@1.0.0'));
    expect(at('upload @t/app@1.0.0')).toBeGreaterThan(at('visible @t/a@1.0.0'));
    expect(at('upload @t/app@1.0.0')).toBeGreaterThan(at('visible @t/b@1.0.0'));
  });

  it('cycles: "error": the cycle is ECYCLE inside EPREFLIGHT, nothing uploaded', async () => {
    addPackage('a', { '@t/b': 'workspace:*' });
    addPackage('b', { '@t/a': 'workspace:*' });
    const fake = fakeRegistries();
    await expect(run(fake, ['a', 'b'], () => ({ cycles: 'error' as const }))).rejects.toMatchObject({ code: 'EPREFLIGHT', message: expect.stringContaining('[ECYCLE]') });
    expect(fake.uploads).toEqual([]);
  });
  it('publishConfig: its tag, access and registry apply where the target sets none; an option the user set wins; the table says where each went', async () => {
    addPackage('a', {}, { publishConfig: { tag: 'next', access: 'restricted', registry: 'http://other.test/' } });
    addPackage('b', {}, { publishConfig: { tag: 'next', access: 'restricted', registry: 'http://other.test/' } });
    addPackage('c');
    const fake = fakeRegistries();
    const lines: string[] = [];
    const { summary } = await run(fake, ['a', 'b', 'c'], (p) => (p === 'b' ? { tag: 'beta', access: 'public', registry: 'http://third.test/' } : {}), lines);
    expect(summary.ok).toBe(true);
    expect(fake.uploads.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { at: 'http://other.test/', name: '@t/a', tag: 'next', access: 'restricted', otp: undefined },
      { at: 'http://third.test/', name: '@t/b', tag: 'beta', access: 'public', otp: undefined },
      { at: 'http://default.test/', name: '@t/c', tag: 'latest', access: undefined, otp: undefined },
    ]);
    expect(summary.tag).toBe('latest');
    expect(summary.packages.find((p) => p.name === '@t/a')).toMatchObject({ tag: 'next', registry: 'http://other.test/' });
    expect(summary.packages.find((p) => p.name === '@t/c')).not.toHaveProperty('tag');
    expect(summary.packages.find((p) => p.name === '@t/c')).not.toHaveProperty('registry');
    const table = lines.join('\n');
    expect(table).toMatch(/@t\/a@1\.0\.0 .*tag next to http:\/\/other\.test\//);
    expect(table).toMatch(/@t\/b@1\.0\.0 .*tag beta to http:\/\/third\.test\//);
  });

  it('publishConfig.provenance applies where the target sets none (its own registry client)', async () => {
    addPackage('a', {}, { publishConfig: { provenance: true } });
    addPackage('c');
    const fake = fakeRegistries();
    await run(fake, ['a', 'c'], () => ({}));
    expect(fake.created.map((s) => s.provenance ?? null).sort()).toEqual([null, true]);
  });

  it('an invalid publishConfig (access, registry, tag, type, scoped registry) is EBADMANIFEST inside EPREFLIGHT, each with a hint; nothing uploaded', async () => {
    addPackage('a', {}, { publishConfig: { access: 'private', registry: 'not a url' } });
    addPackage('b', {}, { publishConfig: 'public' });
    addPackage('c', {}, { publishConfig: { tag: '^1.0.0', '@t:registry': 'http://other.test/' } });
    addPackage('d', {}, { publishConfig: { directory: 'dist', access: 'public' } });
    const fake = fakeRegistries();
    const error = (await run(fake, ['a', 'b', 'c', 'd'], () => ({})).catch((e: unknown) => e)) as { code: string; message: string; problems: Array<{ subject: string; code: string; message: string; hint?: string }> };
    expect(error).toMatchObject({ code: 'EPREFLIGHT' });
    expect(error.problems.map((p) => `${p.subject} ${p.code} ${p.message.replace(/^.*?: publishConfig/, 'publishConfig')}`).sort()).toEqual([
      '@t/a@1.0.0 EBADMANIFEST publishConfig.access is "private", not "public" or "restricted".',
      '@t/a@1.0.0 EBADMANIFEST publishConfig.registry is "not a url", not an http(s) URL.',
      '@t/b@1.0.0 EBADMANIFEST publishConfig is "public", not an object.',
      '@t/c@1.0.0 EBADMANIFEST publishConfig has "@t:registry", which lockstep does not apply.',
      '@t/c@1.0.0 EBADMANIFEST publishConfig.tag is "^1.0.0", not a dist-tag.',
    ]);
    for (const problem of error.problems) expect(problem.hint).toBeTruthy();
    expect(fake.uploads).toEqual([]);
  });

  it('a prerelease with no tag set is refused before the first upload (EBADMANIFEST, hint names the ways to set one); publishConfig.tag or an explicit tag "latest" lets it go', async () => {
    addPackage('pre', {}, { version: '1.2.3-beta.1' });
    addPackage('plain');
    const fake = fakeRegistries();
    const error = (await run(fake, ['pre', 'plain'], () => ({})).catch((e: unknown) => e)) as { code: string; problems: Array<{ subject: string; code: string; hint?: string }> };
    expect(error).toMatchObject({ code: 'EPREFLIGHT' });
    expect(error.problems).toEqual([expect.objectContaining({ subject: '@t/pre@1.2.3-beta.1', code: 'EBADMANIFEST', hint: expect.stringContaining('publishConfig') })]);
    expect(error.problems[0].hint).toContain('--tag next');
    expect(fake.uploads).toEqual([]);

    const explicit = fakeRegistries();
    const { summary } = await run(explicit, ['pre', 'plain'], () => ({ tag: 'latest', resume: 'fresh' as const }));
    expect(summary.ok).toBe(true);
    expect(explicit.uploads.map((u) => `${u.name} ${u.tag}`).sort()).toEqual(['@t/plain latest', '@t/pre latest']);

    addPackage('pre', {}, { version: '1.2.3-beta.1', publishConfig: { tag: 'next' } });
    const configured = fakeRegistries();
    const second = await run(configured, ['pre', 'plain'], () => ({ resume: 'fresh' as const }));
    expect(second.summary.ok).toBe(true);
    expect(configured.uploads.map((u) => `${u.name} ${u.tag}`).sort()).toEqual(['@t/plain latest', '@t/pre next']);
  });
});
