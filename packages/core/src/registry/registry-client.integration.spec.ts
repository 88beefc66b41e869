/**
 * The registry client against a REAL Verdaccio 6.8 (tools/registry/verdaccio.js)
 * behind the fault-injecting proxy (tools/registry/fault-proxy.js). One
 * registry for the whole file; every test uses its own package names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, LockstepError } from '../errors';
import { packTiny, startTestRegistry, TestRegistry, writeNpmrc } from '../test-utils/registry';
import { integrityOf } from './integrity';
import { createRegistryClient, RegistryClient, RegistryClientOptions } from './registry-client';
import { RetryInfo } from './retry';

// A real Verdaccio on a busy 2-core machine: every test and hook of this file gets a minute.
jest.setTimeout(60_000);

let t: TestRegistry;
let scratch: string;
const retries: RetryInfo[] = [];
const errors: unknown[] = [];

beforeAll(async () => {
  t = await startTestRegistry();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'lockstep-it-'));
  // above startRegistry's own 30 s start deadline, so its error (with Verdaccio's log) is the one shown
}, 60_000);

afterAll(async () => {
  await t?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // G5: whatever happened in this file, the token never showed.
  for (const text of [...errors.flatMap(describeError), JSON.stringify(retries)]) {
    expect(text).not.toContain(t.registry.token);
  }
});

beforeEach(() => {
  t.proxy.setOptions({ faultRate: 0, rules: undefined, latencyMs: 0, retryAfterSeconds: 1 });
});

function describeError(error: unknown): string[] {
  const e = error as LockstepError & { cause?: Error };
  return [e.message, e.hint ?? '', e.stack ?? '', e.cause?.message ?? '', e.cause?.stack ?? '', e.format?.() ?? ''];
}

async function client(extra: Partial<RegistryClientOptions> = {}): Promise<RegistryClient> {
  return createRegistryClient({
    cwd: t.workspace,
    env: t.env,
    baseMs: 20,
    onRetry: (info) => retries.push(info),
    ...extra,
  });
}

async function caught(promise: Promise<unknown>): Promise<LockstepError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e) => e,
  );
  errors.push(error);
  return error as LockstepError;
}

it('publishes a packed tarball once; the same bytes again are already-published without a second upload', async () => {
  const c = await client();
  const { manifest, tarball } = await packTiny(scratch, '@demo/tiny', '1.0.0');
  const integrity = integrityOf(tarball);
  expect(integrity).toMatch(/^sha512-/);

  await expect(c.getPublished('@demo/tiny', '1.0.0')).resolves.toBeUndefined();
  await expect(c.publish(manifest, tarball, { tag: 'latest', integrity })).resolves.toBe('published');
  // Seen at once: nothing cached the 404 above.
  const seen = await c.getPublished('@demo/tiny', '1.0.0');
  expect(seen).toMatchObject({ integrity, distTags: { latest: '1.0.0' } });
  await c.waitUntilVisible('@demo/tiny', '1.0.0', integrity, { timeoutMs: 5000 });

  await expect(c.publish(manifest, tarball, { integrity })).resolves.toBe('already-published');
  expect(t.proxy.uploadsOf('@demo/tiny', '1.0.0', { forwardedOnly: false })).toHaveLength(1);

  // The tarball URL Verdaccio wrote points at the proxy and can be fetched through it.
  expect(seen!.tarball.startsWith(t.proxy.url)).toBe(true);
  const res = await fetch(seen!.tarball);
  expect(Buffer.from(await res.arrayBuffer()).equals(tarball)).toBe(true);
});

it('the same version with other bytes is EVERSIONEXISTS, with or without the pre-check', async () => {
  const c = await client();
  const first = await packTiny(scratch, 'tiny-clash', '1.0.0');
  const other = await packTiny(scratch, 'tiny-clash', '1.0.0', ' (changed)');
  expect(integrityOf(other.tarball)).not.toBe(integrityOf(first.tarball));
  await expect(c.publish(first.manifest, first.tarball)).resolves.toBe('published');

  const error = await caught(c.publish(other.manifest, other.tarball));
  expect(error.code).toBe(ErrorCodes.EVERSIONEXISTS);
  expect(error.hint).toContain(integrityOf(first.tarball));
  expect(error.hint).toContain(integrityOf(other.tarball));
  expect(t.proxy.uploadsOf('tiny-clash', '1.0.0', { forwardedOnly: false })).toHaveLength(1);

  // Without the pre-check the upload happens, Verdaccio answers 409, and the
  // registry is re-checked: still EVERSIONEXISTS; same bytes: already-published.
  const forced = await caught(c.publish(other.manifest, other.tarball, { precheck: false }));
  expect(forced.code).toBe(ErrorCodes.EVERSIONEXISTS);
  await expect(c.publish(first.manifest, first.tarball, { precheck: false })).resolves.toBe('already-published');
  const statuses = t.proxy.uploadsOf('tiny-clash', '1.0.0').map((u) => u.status);
  expect(statuses).toEqual([201, 409, 409]);
});

it('a bad token is EAUTH at once: exactly one PUT, no retry, no token in the error', async () => {
  const dir = mkdtempSync(path.join(scratch, 'badtoken-'));
  writeFileSync(path.join(dir, 'package.json'), '{"private":true}');
  const badToken = 'not-a-valid-token-abcdef123456';
  writeNpmrc(dir, { registry: t.proxy.url, token: badToken });
  const seenRetries: RetryInfo[] = [];
  const c = await client({ cwd: dir, onRetry: (i) => seenRetries.push(i) });
  const { manifest, tarball } = await packTiny(scratch, '@demo/locked', '1.0.0');

  const error = await caught(c.publish(manifest, tarball));
  expect(error.code).toBe(ErrorCodes.EAUTH);
  expect(error.message).toContain('authorization required to publish package @demo/locked');
  expect(error.hint).toContain(`\`//127.0.0.1:${t.proxy.port}/:_authToken\` in ${path.join(dir, '.npmrc')}`);
  expect(t.proxy.uploadsOf('@demo/locked', '1.0.0', { forwardedOnly: false })).toHaveLength(1);
  expect(seenRetries).toEqual([]);
  for (const text of [...describeError(error), JSON.stringify(seenRetries)]) {
    expect(text).not.toContain(badToken);
    expect(text).not.toContain(t.registry.token);
  }
});

it('NODE_AUTH_TOKEN is the token when .npmrc has none for the registry', async () => {
  const dir = mkdtempSync(path.join(scratch, 'nodeauth-'));
  writeFileSync(path.join(dir, 'package.json'), '{"private":true}');
  writeNpmrc(dir, { registry: t.proxy.url });
  const c = await client({ cwd: dir, env: { ...t.env, NODE_AUTH_TOKEN: t.registry.token } });
  const { manifest, tarball } = await packTiny(scratch, 'tiny-node-auth', '1.0.0');
  await expect(c.publish(manifest, tarball)).resolves.toBe('published');
});

it('publishes through 30% injected 429/503 (Retry-After: 0), retrying with onRetry', async () => {
  const seen: RetryInfo[] = [];
  const c = await client({ retries: 8, onRetry: (i) => (seen.push(i), retries.push(i)) });
  t.proxy.setOptions({ faultRate: 0.3, faults: ['429', '503'], retryAfterSeconds: 0, seed: 7 });
  const versions = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5'];
  for (const version of versions) {
    const { manifest, tarball } = await packTiny(scratch, 'tiny-flaky', version);
    await expect(c.publish(manifest, tarball)).resolves.toBe('published');
    await c.waitUntilVisible('tiny-flaky', version, integrityOf(tarball), { timeoutMs: 10_000, intervalMs: 20 });
  }
  t.proxy.setOptions({ faultRate: 0 });
  expect(t.proxy.stats.faults).toBeGreaterThan(0);
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.every((r) => r.reason === 'HTTP 429' || r.reason === 'HTTP 503')).toBe(true);
  expect(seen.every((r) => r.retryAfterMs === 0)).toBe(true);
  // Each version reached the registry at most once (a 429/503 from the proxy never forwards).
  for (const version of versions) expect(t.proxy.uploadsOf('tiny-flaky', version).length).toBe(1);
});

it('honours Retry-After: 1 on a 429', async () => {
  const seen: RetryInfo[] = [];
  const c = await client({ onRetry: (i) => (seen.push(i), retries.push(i)) });
  let first = true;
  t.proxy.setOptions({
    retryAfterSeconds: 1,
    rules: (req) => {
      if (!req.isUpload || !first) return undefined;
      first = false;
      return '429';
    },
  });
  const { manifest, tarball } = await packTiny(scratch, 'tiny-slow-down', '1.0.0');
  const started = Date.now();
  await expect(c.publish(manifest, tarball)).resolves.toBe('published');
  expect(seen).toEqual([expect.objectContaining({ attempt: 1, reason: 'HTTP 429', retryAfterMs: 1000, name: 'tiny-slow-down', operation: 'publish' })]);
  expect(seen[0].delayMs).toBeGreaterThanOrEqual(1000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
});

it('an upload whose response is lost after it landed is not uploaded again', async () => {
  const c = await client();
  t.proxy.setOptions({ rules: (req) => (req.isUpload && req.name === 'tiny-lost' ? 'reset-after' : undefined) });
  const { manifest, tarball } = await packTiny(scratch, 'tiny-lost', '1.0.0');
  await expect(c.publish(manifest, tarball)).resolves.toBe('published');
  const uploads = t.proxy.uploadsOf('tiny-lost', '1.0.0');
  expect(uploads).toHaveLength(1);
  expect(uploads[0]).toMatchObject({ fault: 'reset-after', forwarded: true });
  await expect(c.getPublished('tiny-lost', '1.0.0')).resolves.toMatchObject({ integrity: integrityOf(tarball) });
});

it('a connection reset before the upload reached the registry is uploaded again, once', async () => {
  const c = await client();
  let resets = 1;
  t.proxy.setOptions({ rules: (req) => (req.isUpload && resets-- > 0 ? 'reset' : undefined) });
  const { manifest, tarball } = await packTiny(scratch, 'tiny-reset', '1.0.0');
  await expect(c.publish(manifest, tarball)).resolves.toBe('published');
  expect(t.proxy.uploadsOf('tiny-reset', '1.0.0', { forwardedOnly: false }).map((u) => u.forwarded)).toEqual([false, true]);
});

it('ensureDistTag moves a tag only when needed', async () => {
  const c = await client();
  const v1 = await packTiny(scratch, '@demo/tagged', '1.0.0');
  const v2 = await packTiny(scratch, '@demo/tagged', '2.0.0-beta.0');
  await c.publish(v1.manifest, v1.tarball);
  await c.publish(v2.manifest, v2.tarball, { tag: 'next' });
  expect((await c.getPublished('@demo/tagged', '1.0.0'))!.distTags).toEqual({ latest: '1.0.0', next: '2.0.0-beta.0' });

  await expect(c.ensureDistTag('@demo/tagged', '1.0.0', 'latest')).resolves.toBe(false);
  await expect(c.ensureDistTag('@demo/tagged', '1.0.0', 'next')).resolves.toBe(true);
  expect((await c.getPublished('@demo/tagged', '1.0.0'))!.distTags).toEqual({ latest: '1.0.0', next: '1.0.0' });
});

it('waitUntilVisible: EVERIFYTIMEOUT for a version that never shows', async () => {
  const c = await client();
  const error = await caught(c.waitUntilVisible('@demo/tiny', '9.9.9', 'sha512-AAAA', { timeoutMs: 300, intervalMs: 50 }));
  expect(error.code).toBe(ErrorCodes.EVERIFYTIMEOUT);
});
