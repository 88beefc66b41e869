/**
 * The registry test tools themselves: tools/registry/fault-proxy.js (against
 * a plain HTTP server) and tools/registry/verdaccio.js (a real Verdaccio).
 */
import { mkdtempSync, rmSync } from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { mulberry32, startFaultProxy, FaultProxy } from '../../../../tools/registry/fault-proxy';
import { nerfDart, startRegistry, writeNpmrc } from '../../../../tools/registry/verdaccio';
import { readFileSync } from 'fs';

jest.setTimeout(30_000);

describe('fault-proxy', () => {
  let upstream: http.Server;
  let target: string;
  const seen: Array<{ method?: string; url?: string; host?: string; body: string }> = [];
  const proxies: FaultProxy[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(chunks).toString() });
        res.writeHead(req.method === 'PUT' ? 201 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, host: req.headers.host }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
    seen.length = 0;
  });
  afterAll(async () => {
    await new Promise((resolve) => upstream.close(resolve));
  });

  async function proxy(options: Parameters<typeof startFaultProxy>[0]) {
    const p = await startFaultProxy(options);
    proxies.push(p);
    return p;
  }

  const publishBody = (name: string, version: string) =>
    JSON.stringify({ name, versions: { [version]: { name, version } }, _attachments: { [`${name}-${version}.tgz`]: { data: 'AAAA' } } });

  async function send(url: string, init: RequestInit = {}) {
    try {
      const res = await fetch(url, init);
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
    } catch (error) {
      return { status: 'error' as const, error: error as Error & { cause?: { code?: string } } };
    }
  }

  it('forwards with the client Host header, so upstream URLs point at the proxy', async () => {
    const p = await proxy({ target });
    const res = await send(`${p.url}pkg`);
    expect(res.status).toBe(200);
    expect(seen[0].host).toBe(`127.0.0.1:${p.port}`);
    expect(p.stats).toMatchObject({ requests: 1, faults: 0, forwarded: 1 });
  });

  it('records uploads (PUT /<name> with a tarball) with times, and not other PUTs', async () => {
    const p = await proxy({ target });
    await send(`${p.url}@demo%2fa`, { method: 'PUT', body: publishBody('@demo/a', '1.0.0'), headers: { 'content-type': 'application/json' } });
    await send(`${p.url}-/package/@demo%2fa/dist-tags/next`, { method: 'PUT', body: '"1.0.0"' });
    await send(`${p.url}@demo%2fa`, { method: 'PUT', body: JSON.stringify({ name: '@demo/a', users: {} }) });
    expect(p.stats.uploads).toEqual([
      { name: '@demo/a', version: '1.0.0', start: expect.any(Number), end: expect.any(Number), status: 201, fault: undefined, forwarded: true },
    ]);
    expect(p.stats.uploads[0].end!).toBeGreaterThanOrEqual(p.stats.uploads[0].start);
    expect(p.uploadsOf('@demo/a', '1.0.0')).toHaveLength(1);
  });

  it('injects 429 with Retry-After, 5xx, and resets, without forwarding', async () => {
    const p = await proxy({ target, retryAfterSeconds: 3 });
    const order = ['429', '500', '503', 'reset'];
    p.setOptions({ rules: () => order.shift() });
    expect(await send(`${p.url}a`)).toMatchObject({ status: 429, retryAfter: '3' });
    expect(await send(`${p.url}a`)).toMatchObject({ status: 500 });
    expect(await send(`${p.url}a`)).toMatchObject({ status: 503, retryAfter: '3' });
    const reset = await send(`${p.url}a`);
    expect(reset.status).toBe('error');
    expect(seen).toHaveLength(0);
    expect(p.stats).toMatchObject({ requests: 4, faults: 4, forwarded: 0, faultsByKind: { '429': 1, '500': 1, '503': 1, reset: 1 } });
  });

  it("'-after' faults forward the request and then lose the answer", async () => {
    const p = await proxy({ target, rules: (req) => (req.isUpload ? 'reset-after' : undefined) });
    const res = await send(`${p.url}x`, { method: 'PUT', body: publishBody('x', '2.0.0') });
    expect(res.status).toBe('error');
    expect(seen).toHaveLength(1);
    expect(p.stats.uploads[0]).toMatchObject({ name: 'x', version: '2.0.0', fault: 'reset-after', forwarded: true, status: 'reset' });
  });

  it('is deterministic with a seed, and faults at about the configured rate', async () => {
    const run = async (seed: number) => {
      const p = await proxy({ target, faultRate: 0.3, faults: ['429', '503'], seed, retryAfterSeconds: 0 });
      const statuses = [];
      for (let i = 0; i < 40; i++) statuses.push((await send(`${p.url}r${i}`)).status);
      return statuses;
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const faults = a.filter((s) => s !== 200).length;
    expect(faults).toBeGreaterThan(3);
    expect(faults).toBeLessThan(25);
    const rnd = mulberry32(1);
    expect(rnd()).toBe(mulberry32(1)());
  });

  it('setOptions({ target }) points the proxy at another registry (the side-by-side bench: a fresh Verdaccio per run)', async () => {
    const other = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ other: true })));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const p = await proxy({ target });
      expect((await send(`${p.url}a`)).body).toContain('"ok":true');
      p.setOptions({ target: `http://127.0.0.1:${(other.address() as AddressInfo).port}/` });
      expect((await send(`${p.url}b`)).body).toBe('{"other":true}');
      expect(seen.map((s) => s.url)).toEqual(['/a']);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('adds latency to every request', async () => {
    const p = await proxy({ target, latencyMs: 120 });
    const started = Date.now();
    await send(`${p.url}slow`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });
});

describe('verdaccio', () => {
  it('starts on loopback with a token, stop() really stops it, and a restart on the same storage keeps packages and the user', async () => {
    const storageDir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-verdaccio-keep-'));
    try {
      const first = await startRegistry({ storageDir });
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(first.token.length).toBeGreaterThan(20);
      const whoami = await fetch(`${first.url}-/whoami`, { headers: { authorization: `Bearer ${first.token}` } });
      expect(await whoami.json()).toEqual({ username: 'lockstep' });
      const body = JSON.stringify({
        name: 'kept',
        versions: { '1.0.0': { name: 'kept', version: '1.0.0', dist: { tarball: `${first.url}kept/-/kept-1.0.0.tgz` } } },
        'dist-tags': { latest: '1.0.0' },
        _attachments: { 'kept-1.0.0.tgz': { content_type: 'application/octet-stream', data: Buffer.from('tgz').toString('base64'), length: 3 } },
      });
      const put = await fetch(`${first.url}kept`, { method: 'PUT', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${first.token}` } });
      expect(put.status).toBe(201);
      await first.stop();
      await expect(fetch(`${first.url}-/ping`)).rejects.toThrow();
      expect(() => process.kill(first.pid!, 0)).toThrow();

      const second = await startRegistry({ storageDir });
      try {
        const doc = (await (await fetch(`${second.url}kept`)).json()) as { versions: Record<string, unknown> };
        expect(Object.keys(doc.versions)).toEqual(['1.0.0']);
        expect(second.token.length).toBeGreaterThan(20);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(storageDir, { recursive: true, force: true });
    }
    // two Verdaccio starts, each allowed 30 s by startRegistry itself
  }, 120_000);

  it('writeNpmrc writes registry= and the nerf-darted token', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-npmrc-'));
    try {
      const file = writeNpmrc(dir, { registry: 'http://127.0.0.1:4873/', token: 'abc' });
      expect(readFileSync(file, 'utf8')).toBe('registry=http://127.0.0.1:4873/\n//127.0.0.1:4873/:_authToken=abc\n');
      expect(nerfDart('http://127.0.0.1:4873/some/path')).toBe('//127.0.0.1:4873/some/');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
