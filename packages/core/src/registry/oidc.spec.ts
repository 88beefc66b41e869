import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import * as path from 'path';
import { ErrorCodes } from '../errors';
import { expectLockstepError } from '../test-utils/lockstep-error';
import { useTempDir } from '../test-utils/temp-dir';
import { FakeRegistry } from './__fixtures__/fake-registry';
import { httpError } from './__fixtures__/errors';
import { loadNpmConfig } from './npm-config';
import { createTrustedPublishing, detectOidcProvider, identityClaims, usesTrustedPublishing } from './oidc';
import { attachProvenance, provenanceFailure } from './provenance';
import { createRegistryClient } from './registry-client';

const REGISTRY = 'http://127.0.0.1:4873/';
const jwt = (claims: Record<string, unknown>) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig-${Math.random().toString(36).slice(2)}`;
const ID_TOKEN = jwt({ repository: 'acme/app', workflow_ref: 'acme/app/.github/workflows/release.yml@refs/tags/v1', environment: 'npm', repository_visibility: 'private' });

describe('detectOidcProvider / usesTrustedPublishing', () => {
  it.each([
    [{ GITHUB_ACTIONS: 'true' }, 'GitHub Actions'],
    [{ GITLAB_CI: 'true' }, 'GitLab CI'],
    [{ CIRCLECI: 'true' }, 'CircleCI'],
    [{ CI: 'true', TRAVIS: 'true' }, undefined],
    [{ GITHUB_ACTIONS: '' }, undefined],
  ])('%j → %s', (env, provider) => {
    expect(detectOidcProvider(env)).toBe(provider);
  });

  it('auto: only in a supported CI and only without a token; oidc always; token never', () => {
    expect(usesTrustedPublishing('auto', { GITHUB_ACTIONS: 'true' }, false)).toBe(true);
    expect(usesTrustedPublishing('auto', { GITHUB_ACTIONS: 'true' }, true)).toBe(false);
    expect(usesTrustedPublishing('auto', {}, false)).toBe(false);
    expect(usesTrustedPublishing('oidc', {}, true)).toBe(true);
    expect(usesTrustedPublishing('token', { GITHUB_ACTIONS: 'true' }, false)).toBe(false);
  });

  it('reads the trusted publisher claims of GitHub and GitLab tokens, {} for a non-JWT', () => {
    expect(identityClaims(ID_TOKEN)).toEqual({ repository: 'acme/app', workflow: 'release.yml', environment: 'npm', visibility: 'private' });
    expect(identityClaims(jwt({ project_path: 'g/p', ci_config_ref_uri: 'gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main', project_visibility: 'public' }))).toEqual({
      repository: 'g/p',
      workflow: '.gitlab-ci.yml',
      environment: undefined,
      visibility: 'public',
    });
    expect(identityClaims('not a jwt')).toEqual({});
  });
});

describe('createTrustedPublishing', () => {
  const github = { GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: 'http://ci.test/token?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-secret' };

  it('GitHub Actions: asks the identity endpoint for the audience npm:<host>, exchanges at the registry origin per package, reports every secret', async () => {
    const requests: Array<{ url: string; headers: Record<string, string> }> = [];
    const posts: Array<{ url: string; idToken: string }> = [];
    const secrets: string[] = [];
    const tp = createTrustedPublishing({
      env: github,
      onSecret: (s) => secrets.push(s),
      requestIdentity: async (url, headers) => {
        requests.push({ url, headers });
        return { status: 200, json: async () => ({ value: ID_TOKEN }) };
      },
      postExchange: async (url, idToken) => {
        posts.push({ url, idToken });
        return { token: `tok-${posts.length}` };
      },
    });
    expect((await tp.exchange('@acme/a', 'https://npm.example.com/sub/')).token).toBe('tok-1');
    expect((await tp.exchange('b', 'https://npm.example.com/sub/')).token).toBe('tok-2');
    expect(requests[0]).toEqual({ url: 'http://ci.test/token?api-version=2.0&audience=npm%3Anpm.example.com', headers: { accept: 'application/json', authorization: 'Bearer request-secret' } });
    expect(posts).toEqual([
      { url: 'https://npm.example.com/-/npm/v1/oidc/token/exchange/package/@acme%2Fa', idToken: ID_TOKEN },
      { url: 'https://npm.example.com/-/npm/v1/oidc/token/exchange/package/b', idToken: ID_TOKEN },
    ]);
    expect(secrets).toEqual(expect.arrayContaining(['request-secret', ID_TOKEN, 'tok-1', 'tok-2']));
  });

  it('NPM_ID_TOKEN wins over the request (GitLab, CircleCI, or GitHub with it set)', async () => {
    const tp = createTrustedPublishing({
      env: { GITLAB_CI: 'true', NPM_ID_TOKEN: ID_TOKEN },
      onSecret: () => undefined,
      requestIdentity: async () => {
        throw new Error('not asked');
      },
      postExchange: async () => ({ token: 't' }),
    });
    expect((await tp.identity(REGISTRY)).token).toBe(ID_TOKEN);
  });

  it.each([
    ['outside CI', {}, /not GitHub Actions, GitLab CI or CircleCI/, /configure a token/],
    ['GitHub without id-token permission', { GITHUB_ACTIONS: 'true' }, /ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set/, /permissions: id-token: write/],
    ['GitLab without NPM_ID_TOKEN', { GITLAB_CI: 'true' }, /NPM_ID_TOKEN is not set/, /id_tokens: NPM_ID_TOKEN: aud: "npm:127\.0\.0\.1"/],
  ])('%s: EOIDC with a hint', async (_label, env, message, hint) => {
    const tp = createTrustedPublishing({ env, onSecret: () => undefined, postExchange: async () => ({ token: 't' }) });
    const error = await expectLockstepError(tp.exchange('a', REGISTRY), ErrorCodes.EOIDC, message);
    expect(error.hint).toMatch(hint);
  });

  it('a 404 of the exchange is EOIDC naming the trusted publisher to add; a 503 is left to the caller\'s retries', async () => {
    let answer: Error = httpError(404, { body: { message: 'No trusted publisher' } });
    const tp = createTrustedPublishing({
      env: { GITHUB_ACTIONS: 'true', NPM_ID_TOKEN: ID_TOKEN },
      onSecret: () => undefined,
      postExchange: async () => {
        throw answer;
      },
    });
    const error = await expectLockstepError(tp.exchange('@acme/a', REGISTRY), ErrorCodes.EOIDC, /did not exchange this GitHub Actions job's identity for a publish token of @acme\/a \(HTTP 404/);
    expect(error.hint).toMatch(/Add a trusted publisher to @acme\/a .*repository acme\/app, workflow file release\.yml, environment npm/);
    expect(`${error.message} ${error.hint}`).not.toContain(ID_TOKEN);
    answer = httpError(503);
    await expect(tp.exchange('@acme/a', REGISTRY)).rejects.toBe(answer);
  });
});

describe('attachProvenance / provenanceFailure', () => {
  const base = { config: { provenance: false, options: {} }, env: {}, name: '@acme/a', visibility: async () => ({ public: true }) };
  const publicJob = { claims: { visibility: 'public' } };

  it('explicit settings win: provenanceFile, the option, npm config', async () => {
    expect(await attachProvenance({ ...base, file: '/b.sigstore', option: true })).toEqual({ provenance: false, provenanceFile: '/b.sigstore' });
    expect(await attachProvenance({ ...base, option: false, exchanged: publicJob, env: { GITHUB_ACTIONS: 'true' } })).toEqual({ provenance: false });
    expect(await attachProvenance({ ...base, config: { provenance: true, options: {} } })).toEqual({ provenance: true });
    expect(await attachProvenance(base)).toEqual({ provenance: false });
  });

  it('with trusted publishing, on as npm decides: public repository and package, not CircleCI, GitLab only with SIGSTORE_ID_TOKEN', async () => {
    const gh = { GITHUB_ACTIONS: 'true' };
    expect(await attachProvenance({ ...base, env: gh, exchanged: publicJob })).toEqual({ provenance: true });
    expect(await attachProvenance({ ...base, env: gh, exchanged: { claims: { visibility: 'private' } } })).toEqual({ provenance: false });
    expect(await attachProvenance({ ...base, env: gh, exchanged: publicJob, visibility: async () => ({ public: false }) })).toEqual({ provenance: false });
    expect(await attachProvenance({ ...base, env: gh, exchanged: publicJob, visibility: async () => Promise.reject(httpError(404)) })).toEqual({ provenance: false });
    expect(await attachProvenance({ ...base, env: { CIRCLECI: 'true' }, exchanged: publicJob })).toEqual({ provenance: false });
    expect(await attachProvenance({ ...base, env: { GITLAB_CI: 'true' }, exchanged: publicJob })).toEqual({ provenance: false });
    expect(await attachProvenance({ ...base, env: { GITLAB_CI: 'true', SIGSTORE_ID_TOKEN: 'x' }, exchanged: publicJob })).toEqual({ provenance: true });
  });

  it('a sigstore/provenance failure is EPROVENANCE; HTTP answers and runs without provenance are not', () => {
    const redact = (t: string) => t;
    const sigstore = Object.assign(new Error('Provenance subject @acme/a does not match the package'), { code: 'EUSAGE' });
    expect(provenanceFailure(sigstore, { provenance: false, provenanceFile: '/b' }, '@acme/a', '1.0.0', redact)?.code).toBe(ErrorCodes.EPROVENANCE);
    expect(provenanceFailure(sigstore, { provenance: false }, '@acme/a', '1.0.0', redact)).toBeUndefined();
    expect(provenanceFailure(httpError(403), { provenance: true }, '@acme/a', '1.0.0', redact)).toBeUndefined();
  });
});

describe('createRegistryClient with trusted publishing', () => {
  const dir = useTempDir('lockstep-oidc-');

  async function setup(env: NodeJS.ProcessEnv, npmrc = `registry=${REGISTRY}\n`) {
    const root = mkdtempSync(path.join(dir(), 'case-'));
    const repo = path.join(root, 'repo');
    mkdirSync(repo);
    writeFileSync(path.join(repo, 'package.json'), '{"private":true}');
    writeFileSync(path.join(repo, '.npmrc'), npmrc);
    const fullEnv = { HOME: root, NPM_CONFIG_GLOBALCONFIG: path.join(root, 'none'), ...env };
    const fake = new FakeRegistry();
    const exchanged: string[] = [];
    const secrets: string[] = [];
    const config = await loadNpmConfig({ cwd: repo, env: fullEnv });
    const client = await createRegistryClient({
      cwd: repo,
      env: fullEnv,
      config,
      transport: fake,
      sleep: async () => undefined,
      onSecret: (s) => secrets.push(s),
      trustedPublishing: {
        provider: 'GitHub Actions',
        identity: async () => ({ token: ID_TOKEN, claims: {} }),
        exchange: async (name) => {
          const token = `exchanged-for-${name}-${exchanged.length}`;
          exchanged.push(token);
          return { token, claims: {} };
        },
      },
    });
    return { client, fake, exchanged, secrets };
  }

  it('in GitHub Actions without a token: each upload carries a token exchanged for it just before, never npm config credentials', async () => {
    const { client, fake, exchanged } = await setup({ GITHUB_ACTIONS: 'true' });
    expect(client.usesTrustedPublishing(REGISTRY)).toBe(true);
    await client.publish({ name: '@demo/a', version: '1.0.0' }, Buffer.from('a'));
    await client.publish({ name: '@demo/b', version: '1.0.0' }, Buffer.from('b'));
    const uploads = fake.calls.filter((c) => c.op === 'publish');
    expect(uploads.map((c) => (c.options.forceAuth as { token: string }).token)).toEqual(exchanged);
    expect(exchanged).toEqual(['exchanged-for-@demo/a-0', 'exchanged-for-@demo/b-1']);
    expect(uploads.map((c) => c.options.provenance)).toEqual([false, false]);
  });

  it('with a token configured (auto) or outside CI: no exchange', async () => {
    const withToken = await setup({ GITHUB_ACTIONS: 'true' }, `registry=${REGISTRY}\n//127.0.0.1:4873/:_authToken=abc\n`);
    expect(withToken.client.usesTrustedPublishing(REGISTRY)).toBe(false);
    await withToken.client.publish({ name: '@demo/a', version: '1.0.0' }, Buffer.from('a'));
    expect(withToken.exchanged).toEqual([]);
    const local = await setup({});
    expect(local.client.usesTrustedPublishing(REGISTRY)).toBe(false);
  });
});
