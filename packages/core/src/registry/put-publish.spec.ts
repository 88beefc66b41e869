import * as http from 'http';
import type { AddressInfo } from 'net';
import { publishDocument, putPublish } from './put-publish';

// A loopback server and npm's fetch libraries loaded for real: ample headroom on a busy 2-core machine.
jest.setTimeout(60_000);

// The reference: what npm's own library sends for the same upload.
const libnpmpublish: { publish(manifest: object, tarball: Buffer, options: object): Promise<unknown> } = require('libnpmpublish');

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

/** A loopback HTTP server that records every request and answers 200 {}. */
async function recorder(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const tarball = Buffer.from('not really a tarball, but bytes all the same');

describe('putPublish: the publish document libnpmpublish sends, without libnpmpublish', () => {
  let server: Awaited<ReturnType<typeof recorder>>;
  beforeAll(async () => {
    server = await recorder();
  });
  afterAll(() => server.close());

  const cases: Array<[string, Record<string, unknown>, (url: string) => Record<string, unknown>]> = [
    ['an unscoped package, the default tag', { name: 'plain', version: '1.0.0', description: 'd', main: 'index.js' }, (url) => ({ registry: url })],
    ['a scoped package on its scope registry, restricted, tag next', { name: '@scope/pkg', version: '2.0.0-rc.1', dependencies: { a: '1.0.0' } }, (url) => ({ registry: 'http://127.0.0.1:9/', '@scope:registry': url, access: 'restricted', defaultTag: 'next' })],
    ['a manifest with its own tag, an existing dist, a version to clean', { name: 'tagged', version: ' v3.1.4 ', tag: 'beta', dist: { keep: 'me', integrity: 'old' } }, (url) => ({ registry: url, access: null })],
    ['access undefined given explicitly', { name: '@scope/undef', version: '1.0.0' }, (url) => ({ registry: url, access: undefined, npmVersion: '11.0.0' })],
  ];

  it.each(cases)('%s: same method, path, auth and body bytes', async (_label, manifest, optionsFor) => {
    const options = { ...optionsFor(server.url), [`//127.0.0.1:${new URL(server.url).port}/:_authToken`]: 'tok-en', retry: { retries: 0 } };
    server.seen.length = 0;
    await libnpmpublish.publish({ ...manifest }, tarball, { ...options });
    await putPublish({ ...manifest }, tarball, { ...options });
    expect(server.seen).toHaveLength(2);
    const [theirs, ours] = server.seen;
    expect(ours).toEqual(theirs);
    expect(ours.method).toBe('PUT');
    expect(ours.authorization).toBe('Bearer tok-en');
  });

  it('refuses what libnpmpublish refuses, with its codes and messages, before sending anything', async () => {
    server.seen.length = 0;
    const bad: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ name: 'secret', version: '1.0.0', private: true }, {}],
      [{ name: 'unscoped', version: '1.0.0' }, { access: 'restricted' }],
      [{ name: 'badver', version: 'one' }, {}],
    ];
    for (const [manifest, extra] of bad) {
      const options = { registry: server.url, retry: { retries: 0 }, ...extra };
      const theirs = await libnpmpublish.publish({ ...manifest }, tarball, options).then(() => undefined, (e: { code?: string; message: string }) => ({ code: e.code, message: e.message }));
      const ours = await putPublish({ ...manifest }, tarball, options).then(() => undefined, (e: { code?: string; message: string }) => ({ code: e.code, message: e.message }));
      expect(theirs).toBeDefined();
      expect(ours).toEqual(theirs);
    }
    expect(server.seen).toEqual([]);
  });

  it('the tarball URL of an https registry is written with http, as npm does', () => {
    const doc = publishDocument({ name: '@s/x', version: '1.0.0' }, tarball, { registry: 'https://registry.example/npm/', defaultTag: 'latest', access: 'public' });
    const version = (doc.versions as Record<string, { dist: { tarball: string } }>)['1.0.0'];
    expect(version.dist.tarball).toBe('http://registry.example/npm/@s/x/-/@s/x-1.0.0.tgz');
  });
});
