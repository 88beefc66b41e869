import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import * as path from 'path';
import { ErrorCodes, LockstepError } from '../errors';
import { useTempDir } from '../test-utils/temp-dir';
import { FakeRegistry } from './__fixtures__/fake-registry';
import { httpError, networkError } from './__fixtures__/errors';
import { integrityOf } from './integrity';
import { loadNpmConfig } from './npm-config';
import { createRegistryClient, escapeName, RegistryClientOptions } from './registry-client';
import { RetryInfo } from './retry';

const dir = useTempDir('lockstep-client-');
const REGISTRY = 'http://127.0.0.1:4873/';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.dG9rZW4tZm9yLXRlc3Rz.c2lnbmF0dXJl';
const OTP = '246810';

const NAME = '@demo/tiny';
const manifest = { name: NAME, version: '1.0.0' };
const tarball = Buffer.from('the tarball bytes');
const otherTarball = Buffer.from('other tarball bytes');

async function setup(extra: Partial<RegistryClientOptions> = {}) {
  const root = mkdtempSync(path.join(dir(), 'case-'));
  const repo = path.join(root, 'repo');
  mkdirSync(repo);
  writeFileSync(path.join(repo, 'package.json'), '{"private":true}');
  writeFileSync(path.join(repo, '.npmrc'), `registry=${REGISTRY}\n//127.0.0.1:4873/:_authToken=${TOKEN}\n`);
  const env = { HOME: root, NPM_CONFIG_GLOBALCONFIG: path.join(root, 'none') };
  const fake = new FakeRegistry();
  const clock = { now: 1_000_000 };
  const sleeps: number[] = [];
  const retries: RetryInfo[] = [];
  const config = await loadNpmConfig({ cwd: repo, env });
  const client = await createRegistryClient({
    cwd: repo,
    config,
    transport: fake,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    random: () => 0.5,
    now: () => clock.now,
    onRetry: (info) => retries.push(info),
    ...extra,
  });
  return { client, fake, sleeps, retries, clock, repo };
}

function expectNoSecrets(error: unknown, ...extra: unknown[]) {
  const e = error as LockstepError & { cause?: Error };
  const texts = [e.message, e.hint, e.stack, e.cause?.message, e.cause?.stack, JSON.stringify(extra)];
  for (const text of texts) {
    expect(text ?? '').not.toContain(TOKEN);
    expect(text ?? '').not.toContain(OTP);
  }
}

describe('createRegistryClient: publish', () => {
  it('looks first, then uploads once, with npm retries off and the tag as defaultTag', async () => {
    const { client, fake } = await setup();
    await expect(client.publish(manifest, tarball, { tag: 'next', integrity: integrityOf(tarball) })).resolves.toBe('published');
    expect(fake.calls.map((c) => c.op)).toEqual(['get', 'publish']);
    const opts = fake.calls[1].options;
    expect(opts.retry).toEqual({ retries: 0 });
    expect(opts.defaultTag).toBe('next');
    expect(opts.provenance).toBe(false);
    expect(opts['//127.0.0.1:4873/:_authToken']).toBe(TOKEN);
    expect(opts.cache).toBeUndefined();
    expect(fake.packages.get(NAME)?.['dist-tags']).toEqual({ next: '1.0.0' });
  });

  it('reads bypassing every cache', async () => {
    const { client, fake } = await setup();
    await client.getPublished(NAME, '1.0.0');
    const { uri, options } = fake.calls[0];
    expect(uri).toBe(`${REGISTRY}${escapeName(NAME)}`);
    expect(options).toMatchObject({ method: 'GET', preferOnline: true, offline: false, preferOffline: false, retry: { retries: 0 } });
    expect(options.cache).toBeUndefined();
    expect(options.headers).toMatchObject({ 'cache-control': 'no-cache' });
  });

  it('same version with the same bytes on the registry: already-published, nothing uploaded', async () => {
    const { client, fake } = await setup();
    fake.seed(NAME, '1.0.0', tarball);
    await expect(client.publish(manifest, tarball)).resolves.toBe('already-published');
    expect(fake.uploads()).toBe(0);
  });

  it('same version with other bytes: EVERSIONEXISTS naming both integrities, nothing uploaded', async () => {
    const { client, fake } = await setup();
    fake.seed(NAME, '1.0.0', otherTarball);
    const error = await client.publish(manifest, tarball).catch((e) => e);
    expect(error).toBeInstanceOf(LockstepError);
    expect(error.code).toBe(ErrorCodes.EVERSIONEXISTS);
    expect(error.hint).toContain(integrityOf(otherTarball));
    expect(error.hint).toContain(integrityOf(tarball));
    expect(error.hint).toMatch(/bump the version/i);
    expect(fake.uploads()).toBe(0);
  });

  it('a "previously published" conflict is settled against the registry (precheck off)', async () => {
    const same = await setup();
    same.fake.seed(NAME, '1.0.0', tarball);
    await expect(same.client.publish(manifest, tarball, { precheck: false })).resolves.toBe('already-published');
    expect(same.fake.uploads()).toBe(1);

    const other = await setup();
    other.fake.seed(NAME, '1.0.0', otherTarball);
    const error = await other.client.publish(manifest, tarball, { precheck: false }).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EVERSIONEXISTS);
  });

  it('a conflict for a version the registry does not serve yet is looked at again', async () => {
    const { client, fake, sleeps } = await setup();
    fake.seed(NAME, '1.0.0', tarball);
    fake.invisibleReads = 0;
    // The version becomes visible only on the third read.
    (fake as unknown as { hidden: Map<string, number> }).hidden.set(`${NAME}@1.0.0`, 2);
    await expect(client.publish(manifest, tarball, { precheck: false })).resolves.toBe('already-published');
    expect(sleeps.length).toBe(2);
  });

  it('a conflict for a version never served (unpublished) is EVERSIONEXISTS after a bounded wait', async () => {
    const { client, fake, sleeps } = await setup();
    fake.tombstones.add(`${NAME}@1.0.0`);
    const error = await client.publish(manifest, tarball).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EVERSIONEXISTS);
    expect(error.message).toContain('this package is already present');
    expect(error.hint).toMatch(/never be reused/);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(10_000);
  });

  it('an upload whose answer was lost is not repeated when it landed', async () => {
    const { client, fake, retries } = await setup();
    fake.fail('publish', networkError('ECONNRESET'), true);
    await expect(client.publish(manifest, tarball)).resolves.toBe('published');
    expect(fake.uploads()).toBe(1);
    expect(fake.calls.map((c) => c.op)).toEqual(['get', 'publish', 'get']);
    expect(retries).toEqual([expect.objectContaining({ attempt: 1, reason: 'socket hang up', name: NAME, operation: 'publish' })]);
  });

  it('a 503 that did land (a lost success) is recognised the same way', async () => {
    const { client, fake } = await setup();
    fake.fail('publish', httpError(503), true);
    await expect(client.publish(manifest, tarball)).resolves.toBe('published');
    expect(fake.uploads()).toBe(1);
  });

  it('a 503 that did not land is uploaded again after looking', async () => {
    const { client, fake, retries } = await setup();
    fake.fail('publish', httpError(503));
    await expect(client.publish(manifest, tarball)).resolves.toBe('published');
    expect(fake.calls.map((c) => c.op)).toEqual(['get', 'publish', 'get', 'publish']);
    expect(retries.map((r) => r.reason)).toEqual(['HTTP 503']);
  });

  it('429 waits at least Retry-After and retries without looking (nothing was applied)', async () => {
    const { client, fake, sleeps, retries } = await setup();
    fake.fail('publish', httpError(429, { headers: { 'retry-after': '2' } }));
    await expect(client.publish(manifest, tarball)).resolves.toBe('published');
    expect(sleeps).toEqual([2000]);
    expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 2000, retryAfterMs: 2000, reason: 'HTTP 429' });
    expect(fake.calls.map((c) => c.op)).toEqual(['get', 'publish', 'publish']);
  });

  it('401 is EAUTH at once: one upload, no retry, a hint naming the .npmrc key, no token anywhere', async () => {
    const { client, fake, retries, repo } = await setup();
    fake.fail(
      'publish',
      httpError(401, { headers: { 'www-authenticate': 'Basic, Bearer' }, body: { error: 'authorization required to publish package @demo/tiny' } }),
    );
    const error = await client.publish(manifest, tarball).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EAUTH);
    expect(error.message).toContain('authorization required to publish package @demo/tiny');
    expect(error.hint).toContain('`//127.0.0.1:4873/:_authToken`');
    expect(error.hint).toContain(path.join(repo, '.npmrc'));
    expect(fake.uploads()).toBe(1);
    expect(retries).toEqual([]);
    expectNoSecrets(error, retries);
  });

  it('403 for permissions is EAUTH; EOTP is EAUTH with an otp hint', async () => {
    const a = await setup();
    a.fake.fail('publish', httpError(403, { body: { error: 'user ci is not allowed to publish package @demo/tiny' } }));
    const denied = await a.client.publish(manifest, tarball).catch((e) => e);
    expect(denied.code).toBe(ErrorCodes.EAUTH);
    expect(denied.hint).toMatch(/may not publish/);

    const b = await setup({ otp: OTP });
    b.fake.fail('publish', httpError(401, { headers: { 'www-authenticate': 'OTP' } }));
    const otp = await b.client.publish(manifest, tarball).catch((e) => e);
    expect(otp.code).toBe(ErrorCodes.EAUTH);
    expect(otp.hint).toMatch(/otp/);
    expect(b.fake.calls[1].options.otp).toBe(OTP);
    expectNoSecrets(otp);
  });

  it('400 is EBADMANIFEST, not retried', async () => {
    const { client, fake } = await setup();
    fake.fail('publish', httpError(400, { body: { error: 'bad package data' } }));
    const error = await client.publish(manifest, tarball).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EBADMANIFEST);
    expect(fake.uploads()).toBe(1);
  });

  it('a registry that keeps failing is EREGISTRY after retries + 1 attempts', async () => {
    const { client, fake, retries } = await setup({ retries: 2 });
    fake.fail('publish', httpError(500)).fail('publish', httpError(502)).fail('publish', httpError(503));
    const error = await client.publish(manifest, tarball).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EREGISTRY);
    expect(error.message).toContain('after 3 attempts');
    expect(retries).toHaveLength(2);
    expect(fake.uploads()).toBe(3);
  });

  it('an integrity that does not match the tarball is a bug, caught before any request', async () => {
    const { client, fake } = await setup();
    const error = await client.publish(manifest, tarball, { integrity: integrityOf(otherTarball) }).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EINTERNAL);
    expect(fake.calls).toEqual([]);
  });

  it('redacts the token and the OTP from every message, even when the library puts them there', async () => {
    const { client, fake, retries } = await setup({ otp: OTP });
    const leaky = Object.assign(new Error(`request failed: authorization: Bearer ${TOKEN} otp ${OTP}`), { code: 'EWEIRD' });
    fake.fail('publish', leaky);
    const error = await client.publish(manifest, tarball).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EREGISTRY);
    expectNoSecrets(error, retries);
  });
});

describe('createRegistryClient: a per-publish OTP', () => {
  it('is sent with that upload and redacted from its errors', async () => {
    const { client, fake } = await setup();
    fake.fail('publish', Object.assign(new Error(`rejected otp ${OTP} for this request`), { code: 'EWEIRD' }));
    const error = await client.publish(manifest, tarball, { otp: OTP }).catch((e) => e);
    expect(fake.calls[1].options.otp).toBe(OTP);
    expect(error.code).toBe(ErrorCodes.EREGISTRY);
    expectNoSecrets(error);
  });
});

describe('createRegistryClient: reads, tags, visibility', () => {
  it('getPublished: undefined for 404 and for a missing version, the dist fields otherwise', async () => {
    const { client, fake } = await setup();
    await expect(client.getPublished(NAME, '1.0.0')).resolves.toBeUndefined();
    fake.seed(NAME, '1.0.0', tarball, { latest: '1.0.0', beta: '1.0.0' });
    await expect(client.getPublished(NAME, '2.0.0')).resolves.toBeUndefined();
    await expect(client.getPublished(NAME, '1.0.0')).resolves.toEqual({
      integrity: integrityOf(tarball),
      tarball: `http://fake/${NAME}/-/1.0.0.tgz`,
      distTags: { latest: '1.0.0', beta: '1.0.0' },
    });
  });

  it('getPublished retries transient failures', async () => {
    const { client, fake, retries } = await setup();
    fake.seed(NAME, '1.0.0', tarball);
    fake.fail('get', networkError('ECONNREFUSED')).fail('get', httpError(502, { method: 'GET' }));
    await expect(client.getPublished(NAME, '1.0.0')).resolves.toBeDefined();
    expect(retries.map((r) => [r.operation, r.reason])).toEqual([
      ['read', 'ECONNREFUSED'],
      ['read', 'HTTP 502'],
    ]);
  });

  it('ensureDistTag moves a tag only when it points elsewhere', async () => {
    const { client, fake } = await setup();
    fake.seed(NAME, '1.0.0', tarball, { latest: '1.0.0' });
    fake.seed(NAME, '1.1.0', otherTarball, { next: '1.1.0' });
    await expect(client.ensureDistTag(NAME, '1.0.0', 'latest')).resolves.toBe(false);
    await expect(client.ensureDistTag(NAME, '1.0.0', 'next')).resolves.toBe(true);
    const put = fake.calls.find((c) => c.op === 'dist-tag')!;
    expect(put.uri).toBe(`${REGISTRY}-/package/${escapeName(NAME)}/dist-tags/next`);
    expect(put.options).toMatchObject({ method: 'PUT', body: '"1.0.0"', retry: { retries: 0 } });
    expect(fake.packages.get(NAME)?.['dist-tags']).toEqual({ latest: '1.0.0', next: '1.0.0' });
  });

  it('ensureDistTag on a version the registry does not serve is EREGISTRY', async () => {
    const { client } = await setup();
    await expect(client.ensureDistTag(NAME, '9.9.9', 'latest')).rejects.toMatchObject({ code: ErrorCodes.EREGISTRY });
  });

  it('waitUntilVisible returns once the version is served with the integrity', async () => {
    const { client, fake, sleeps } = await setup();
    fake.seed(NAME, '1.0.0', tarball);
    (fake as unknown as { hidden: Map<string, number> }).hidden.set(`${NAME}@1.0.0`, 3);
    await client.waitUntilVisible(NAME, '1.0.0', integrityOf(tarball), { timeoutMs: 60_000, intervalMs: 100 });
    expect(sleeps).toEqual([100, 150, 225]);
  });

  it('waitUntilVisible tolerates transient read failures but not auth failures', async () => {
    const a = await setup();
    a.fake.seed(NAME, '1.0.0', tarball);
    a.fake.fail('get', httpError(503, { method: 'GET' }));
    await a.client.waitUntilVisible(NAME, '1.0.0', integrityOf(tarball), { timeoutMs: 10_000 });

    const b = await setup();
    b.fake.fail('get', httpError(401, { method: 'GET' }));
    await expect(b.client.waitUntilVisible(NAME, '1.0.0', integrityOf(tarball), { timeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCodes.EAUTH });
  });

  it('waitUntilVisible: EVERIFYTIMEOUT when it never shows, on the injected clock', async () => {
    const { client, clock } = await setup();
    const start = clock.now;
    const error = await client.waitUntilVisible(NAME, '1.0.0', integrityOf(tarball), { timeoutMs: 30_000, intervalMs: 1000 }).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.EVERIFYTIMEOUT);
    expect(error.hint).toMatch(/verifyTimeoutMs/);
    expect(clock.now - start).toBe(30_000);
  });

  it('waitUntilVisible: EVERSIONEXISTS when it shows with another integrity', async () => {
    const { client, fake } = await setup();
    fake.seed(NAME, '1.0.0', otherTarball);
    await expect(client.waitUntilVisible(NAME, '1.0.0', integrityOf(tarball), { timeoutMs: 1000 })).rejects.toMatchObject({
      code: ErrorCodes.EVERSIONEXISTS,
    });
  });

  it('registryFor follows scoped registries', async () => {
    const { client } = await setup();
    expect(client.registryFor(NAME)).toBe(REGISTRY);
  });
});

describe('createRegistryClient: whoami and listVersions (the G6 preflight)', () => {
  it('whoami answers the user the token belongs to, sending the token and the OTP, bypassing caches', async () => {
    const { client, fake } = await setup({ otp: OTP });
    fake.whoamiUser = 'ci-bot';
    await expect(client.whoami()).resolves.toBe('ci-bot');
    const call = fake.calls.find((c) => c.op === 'whoami')!;
    expect(call.uri).toBe(`${REGISTRY}-/whoami`);
    expect(call.options).toMatchObject({ method: 'GET', preferOnline: true, otp: OTP, '//127.0.0.1:4873/:_authToken': TOKEN });
  });

  it('no user behind the credentials (200 without a username, as Verdaccio answers an unknown token) is EAUTH naming where the token comes from', async () => {
    const { client, fake, repo } = await setup();
    fake.whoamiUser = null;
    const error = await client.whoami().catch((e) => e);
    expect(error).toMatchObject({ code: ErrorCodes.EAUTH });
    expect(error.message).toMatch(/knows no user/);
    expect(error.hint).toContain(path.join(repo, '.npmrc'));
    expectNoSecrets(error);
  });

  it('401 is EAUTH at once (no retry); a registry without /-/whoami (404) is not checked', async () => {
    const a = await setup();
    a.fake.fail('whoami', httpError(401, { body: { error: 'bad token' } }));
    const refused = await a.client.whoami().catch((e) => e);
    expect(refused).toMatchObject({ code: ErrorCodes.EAUTH });
    expect(a.retries).toEqual([]);
    expectNoSecrets(refused);

    const b = await setup();
    await expect(b.client.whoami()).resolves.toBeUndefined();
  });

  it('an unreachable registry is EREGISTRY after the retries', async () => {
    const { client, fake, retries } = await setup({ retries: 2 });
    fake.whoamiUser = 'ci-bot';
    for (let i = 0; i < 3; i++) fake.fail('whoami', networkError('ECONNREFUSED'));
    const error = await client.whoami().catch((e) => e);
    expect(error).toMatchObject({ code: ErrorCodes.EREGISTRY });
    expect(error.message).toMatch(/checking the credentials at \/-\/whoami: ECONNREFUSED after 3 attempts/);
    expect(retries).toHaveLength(2);
  });

  it('listVersions lists what the registry serves, [] for an unknown package', async () => {
    const { client, fake } = await setup();
    fake.seed(NAME, '1.0.0', tarball);
    fake.seed(NAME, '1.1.0', otherTarball);
    await expect(client.listVersions(NAME)).resolves.toEqual(['1.0.0', '1.1.0']);
    await expect(client.listVersions('@demo/none')).resolves.toEqual([]);
  });
});

describe('escapeName', () => {
  it('escapes the slash of scoped names only', () => {
    expect(escapeName('@a/b')).toBe('@a%2Fb');
    expect(escapeName('plain')).toBe('plain');
  });
});

describe('createRegistryClient with a signal (a publish run being stopped)', () => {
  const stopped = () => new LockstepError(ErrorCodes.EABORTED, 'Stopped by SIGTERM: the grace ran out.');
  /** A transport whose requests never answer (a registry that hangs), except through the signal they were given. */
  const hangingTransport = (calls: Array<{ op: string; signal: unknown }>) => ({
    fetch: (_uri: string, options: Record<string, unknown>) => {
      calls.push({ op: 'fetch', signal: options.signal });
      return new Promise<never>(() => undefined);
    },
    publish: (_m: Record<string, unknown>, _t: Buffer, options: Record<string, unknown>) => {
      calls.push({ op: 'publish', signal: options.signal });
      return new Promise<never>(() => undefined);
    },
  });

  it('hands the signal to every request (npm-registry-fetch cancels the socket), and a hanging read or upload rejects at once when it aborts', async () => {
    const abort = new AbortController();
    const calls: Array<{ op: string; signal: unknown }> = [];
    const { client } = await setup({ signal: abort.signal, transport: hangingTransport(calls) });
    const read = client.getPublished(NAME, '1.0.0');
    const upload = client.publish(manifest, tarball, { precheck: false, integrity: integrityOf(tarball) });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const reason = stopped();
    abort.abort(reason);
    await expect(read).rejects.toBe(reason);
    await expect(upload).rejects.toBe(reason);
    expect(calls.map((c) => c.op).sort()).toEqual(['fetch', 'publish']);
    for (const call of calls) expect(call.signal).toBe(abort.signal);
  });

  it('waitUntilVisible stops polling at once; a request after the abort is never sent', async () => {
    const abort = new AbortController();
    const { client, fake } = await setup({ signal: abort.signal, sleep: () => new Promise<void>(() => undefined) });
    const waiting = client.waitUntilVisible(NAME, '1.0.0', integrityOf(tarball), { timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    abort.abort(stopped());
    await expect(waiting).rejects.toMatchObject({ code: 'EABORTED', message: expect.stringContaining('grace ran out') });
    const before = fake.calls.length;
    await expect(client.getPublished(NAME, '1.0.0')).rejects.toMatchObject({ code: 'EABORTED' });
    expect(fake.calls.length).toBe(before);
  });
});
