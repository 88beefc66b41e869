import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { ErrorCodes, LockstepError } from '../errors';
import { useTempDir } from '../test-utils/temp-dir';
import { loadNpmConfig, nerfDart, normalizeRegistry, scopeOf } from './npm-config';

const dir = useTempDir('lockstep-npmrc-');

/** A repo dir with package.json and .npmrc, and an env that sees nothing else (no real ~/.npmrc, no global npmrc). */
function setup(npmrc: string | undefined, userNpmrc?: string) {
  const root = dir();
  const repo = path.join(root, 'repo');
  const home = path.join(root, 'home');
  mkdirSync(repo, { recursive: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(path.join(repo, 'package.json'), '{"name":"repo","private":true}');
  if (npmrc !== undefined) writeFileSync(path.join(repo, '.npmrc'), npmrc);
  if (userNpmrc !== undefined) writeFileSync(path.join(home, '.npmrc'), userNpmrc);
  const env: Record<string, string | undefined> = { HOME: home, NPM_CONFIG_GLOBALCONFIG: path.join(root, 'none') };
  return { root, repo, home, env };
}

const TOKEN = 'tok-4873-abcdefgh';

describe('loadNpmConfig', () => {
  it('reads registry= and the nerf-darted token of the project .npmrc', async () => {
    const { repo, env } = setup(`registry=http://127.0.0.1:4873\n//127.0.0.1:4873/:_authToken=${TOKEN}\n`);
    const config = await loadNpmConfig({ cwd: repo, env });
    expect(config.registry).toBe('http://127.0.0.1:4873/');
    expect(config.options.registry).toBe('http://127.0.0.1:4873/');
    expect(config.options['//127.0.0.1:4873/:_authToken']).toBe(TOKEN);
    expect(config.hasCredentials('http://127.0.0.1:4873/')).toBe(true);
    expect(config.secrets).toContain(TOKEN);
    expect(config.files).toContain(path.join(repo, '.npmrc'));
    expect(config.describeCredentials('http://127.0.0.1:4873/')).toBe(`\`//127.0.0.1:4873/:_authToken\` in ${path.join(repo, '.npmrc')}`);
    expect(config.describeCredentials('http://127.0.0.1:4873/')).not.toContain(TOKEN);
  });

  it("turns off npm's cache and retries (the client does its own) and provenance", async () => {
    const { repo, env } = setup('fetch-retries=5\nfetch-retry-mintimeout=10000\n');
    const config = await loadNpmConfig({ cwd: repo, env });
    expect(config.options.cache).toBeUndefined();
    expect(config.options.retry).toBeUndefined();
    expect(config.options.preferOnline).toBe(true);
    expect(config.options.offline).toBe(false);
    expect(config.options.provenance).toBe(false);
    expect(config.registry).toBe('https://registry.npmjs.org/');
  });

  it('finds the project .npmrc from a sub-directory, and at the npm workspace root', async () => {
    const { repo, env } = setup('registry=http://127.0.0.1:1111/\n');
    writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'repo', private: true, workspaces: ['packages/*'] }));
    const pkg = path.join(repo, 'packages', 'a');
    mkdirSync(path.join(pkg, 'src'), { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), '{"name":"a","version":"1.0.0"}');
    expect((await loadNpmConfig({ cwd: path.join(pkg, 'src'), env })).registry).toBe('http://127.0.0.1:1111/');
  });

  it('user config: ~/.npmrc, or NPM_CONFIG_USERCONFIG instead', async () => {
    const { root, repo, env } = setup(undefined, 'registry=http://127.0.0.1:2222/\n');
    expect((await loadNpmConfig({ cwd: repo, env })).registry).toBe('http://127.0.0.1:2222/');
    const other = path.join(root, 'other.npmrc');
    writeFileSync(other, 'registry=http://127.0.0.1:3333/\n');
    expect((await loadNpmConfig({ cwd: repo, env: { ...env, NPM_CONFIG_USERCONFIG: other } })).registry).toBe('http://127.0.0.1:3333/');
  });

  it('precedence as npm: env NPM_CONFIG_* > project > user; the registry option beats all', async () => {
    const { repo, env } = setup('registry=http://127.0.0.1:1111/\n', 'registry=http://127.0.0.1:2222/\n');
    expect((await loadNpmConfig({ cwd: repo, env })).registry).toBe('http://127.0.0.1:1111/');
    expect((await loadNpmConfig({ cwd: repo, env: { ...env, NPM_CONFIG_REGISTRY: 'http://127.0.0.1:4444' } })).registry).toBe('http://127.0.0.1:4444/');
    expect((await loadNpmConfig({ cwd: repo, env: { ...env, npm_config_registry: 'http://127.0.0.1:4444' }, registry: 'http://127.0.0.1:5555' })).registry).toBe('http://127.0.0.1:5555/');
  });

  it('scoped registries and their tokens', async () => {
    const { repo, env } = setup(
      ['registry=http://127.0.0.1:4873/', '@acme:registry=http://127.0.0.1:5000/npm', `//127.0.0.1:5000/npm/:_authToken=acme-secret-1`, ''].join('\n'),
    );
    const config = await loadNpmConfig({ cwd: repo, env });
    expect(config.scopes).toEqual({ '@acme': 'http://127.0.0.1:5000/npm/' });
    expect(config.registryFor('@acme/lib')).toBe('http://127.0.0.1:5000/npm/');
    expect(config.registryFor('@other/lib')).toBe('http://127.0.0.1:4873/');
    expect(config.registryFor('plain')).toBe('http://127.0.0.1:4873/');
    expect(config.hasCredentials('http://127.0.0.1:5000/npm/')).toBe(true);
    expect(config.hasCredentials('http://127.0.0.1:4873/')).toBe(false);
  });

  it('expands ${VAR} in values as npm does', async () => {
    const { repo, env } = setup('//127.0.0.1:4873/:_authToken=${MY_TOKEN}\nregistry=http://127.0.0.1:4873/\n');
    const config = await loadNpmConfig({ cwd: repo, env: { ...env, MY_TOKEN: 'from-env-123' } });
    expect(config.options['//127.0.0.1:4873/:_authToken']).toBe('from-env-123');
    expect(config.secrets).toContain('from-env-123');
  });

  it('drops a credential whose ${VAR} is not set, and says so', async () => {
    const { repo, env } = setup('//127.0.0.1:4873/:_authToken=${NPM_TOKEN}\nregistry=http://127.0.0.1:4873/\n');
    const config = await loadNpmConfig({ cwd: repo, env });
    expect(config.options['//127.0.0.1:4873/:_authToken']).toBeUndefined();
    expect(config.hasCredentials('http://127.0.0.1:4873/')).toBe(false);
    expect(config.describeCredentials('http://127.0.0.1:4873/')).toMatch(/none configured for \/\/127\.0\.0\.1:4873\/ .*\$\{NPM_TOKEN\}, which is not set/);
  });

  it('reads nerf-darted credentials from NPM_CONFIG_ env variables', async () => {
    const { repo, env } = setup('registry=http://127.0.0.1:4873/\n');
    const config = await loadNpmConfig({ cwd: repo, env: { ...env, 'npm_config_//127.0.0.1:4873/:_authToken': 'env-token-99' } });
    expect(config.options['//127.0.0.1:4873/:_authToken']).toBe('env-token-99');
    expect(config.describeCredentials('http://127.0.0.1:4873/')).toContain('environment');
  });

  it('uses NODE_AUTH_TOKEN for the default registry when no token is configured for it', async () => {
    const { repo, env } = setup('registry=http://127.0.0.1:4873/\n');
    const config = await loadNpmConfig({ cwd: repo, env: { ...env, NODE_AUTH_TOKEN: 'node-auth-77' } });
    expect(config.options['//127.0.0.1:4873/:_authToken']).toBe('node-auth-77');
    expect(config.secrets).toContain('node-auth-77');
    expect(config.describeCredentials('http://127.0.0.1:4873/')).toMatch(/^NODE_AUTH_TOKEN/);
  });

  it('keeps a configured token over NODE_AUTH_TOKEN, and does not send NODE_AUTH_TOKEN to scoped registries', async () => {
    const { repo, env } = setup(`registry=http://127.0.0.1:4873/\n//127.0.0.1:4873/:_authToken=${TOKEN}\n@acme:registry=http://127.0.0.1:5000/\n`);
    const config = await loadNpmConfig({ cwd: repo, env: { ...env, NODE_AUTH_TOKEN: 'node-auth-77' } });
    expect(config.options['//127.0.0.1:4873/:_authToken']).toBe(TOKEN);
    expect(config.options['//127.0.0.1:5000/:_authToken']).toBeUndefined();
  });

  it('collects basic-auth secrets (username/_password, _auth) in every form they are sent', async () => {
    const pass = Buffer.from('hunter2-pass').toString('base64');
    const { repo, env } = setup(`registry=http://127.0.0.1:4873/\n//127.0.0.1:4873/:username=bob\n//127.0.0.1:4873/:_password=${pass}\n`);
    const config = await loadNpmConfig({ cwd: repo, env });
    expect(config.hasCredentials('http://127.0.0.1:4873/')).toBe(true);
    expect(config.secrets).toEqual(expect.arrayContaining([pass, 'hunter2-pass', Buffer.from('bob:hunter2-pass').toString('base64')]));
  });

  it('does not modify the env it is given', async () => {
    const { repo, env } = setup('registry=http://127.0.0.1:4873/\n');
    const before = { ...env };
    await loadNpmConfig({ cwd: repo, env });
    expect(env).toEqual(before);
  });

  it('an .npmrc that exists but cannot be read is ECONFIG with a hint', async () => {
    const { repo, env } = setup(undefined);
    mkdirSync(path.join(repo, '.npmrc'));
    const error = await loadNpmConfig({ cwd: repo, env }).catch((e) => e);
    expect(error).toBeInstanceOf(LockstepError);
    expect(error.code).toBe(ErrorCodes.ECONFIG);
    expect(error.message).toContain(path.join(repo, '.npmrc'));
    expect(error.hint).toBeTruthy();
  });

  it('a registry that is not a URL is ECONFIG naming where it was set', async () => {
    const { repo, env } = setup(undefined);
    const error = await loadNpmConfig({ cwd: repo, env, registry: 'not a url' }).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.ECONFIG);
    expect(error.hint).toContain('registry');
    const bad = setup('@acme:registry=ftp://example.com/\n');
    const scoped = await loadNpmConfig({ cwd: bad.repo, env: bad.env }).catch((e) => e);
    expect(scoped.code).toBe(ErrorCodes.ECONFIG);
    expect(scoped.hint).toContain(path.join(bad.repo, '.npmrc'));
  });
});

describe('helpers', () => {
  it('nerfDart', () => {
    expect(nerfDart('http://127.0.0.1:4873/')).toBe('//127.0.0.1:4873/');
    expect(nerfDart('https://npm.pkg.github.com/org')).toBe('//npm.pkg.github.com/');
    expect(nerfDart('https://example.com/npm/repo/')).toBe('//example.com/npm/repo/');
  });
  it('normalizeRegistry', () => {
    expect(normalizeRegistry('http://127.0.0.1:4873')).toBe('http://127.0.0.1:4873/');
    expect(normalizeRegistry('https://x.org/a//')).toBe('https://x.org/a/');
    expect(() => normalizeRegistry('file:///x')).toThrow();
  });
  it('scopeOf', () => {
    expect(scopeOf('@a/b')).toBe('@a');
    expect(scopeOf('b')).toBeUndefined();
  });
});
