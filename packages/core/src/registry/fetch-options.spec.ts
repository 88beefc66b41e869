import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { fetchOptionsOf } from './fetch-options';
import { loadNpmConfig } from './npm-config';
import { npmFetch } from './npm-libs';

// A loopback server and npm's fetch libraries loaded for real: ample headroom on a busy 2-core machine.
jest.setTimeout(60_000);

const dir = useTempDir('lockstep-fetch-options-');

describe('fetchOptionsOf: only the options a registry request reads', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: req.url!, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the same requests as npm\'s whole options: per-registry tokens, the scope registry, user agent, auth type, OTP, npm-command', async () => {
    const root = mkdtempSync(path.join(dir(), 'case-'));
    mkdirSync(path.join(root, 'repo'));
    writeFileSync(
      path.join(root, 'repo', '.npmrc'),
      [
        `registry=${url}/main/`,
        `@sc:registry=${url}/scoped/`,
        `//127.0.0.1:${new URL(url).port}/main/:_authToken=main-token`,
        `//127.0.0.1:${new URL(url).port}/scoped/:_authToken=scoped-token`,
        'user-agent=lockstep-test/1 {node-version}',
        'auth-type=web',
        'strict-ssl=false',
        'maxsockets=7',
        'fetch-timeout=12345',
        'noproxy=127.0.0.1',
        'local-address=127.0.0.1',
        'access=restricted',
      ].join('\n'),
    );
    const config = await loadNpmConfig({ cwd: path.join(root, 'repo'), env: { HOME: root, NPM_CONFIG_GLOBALCONFIG: path.join(root, 'none') } });
    const full: Record<string, unknown> = { ...config.options, retry: { retries: 0 }, npmCommand: 'publish', otp: '123456' };
    const trimmed: Record<string, unknown> = { ...fetchOptionsOf(config.options), retry: { retries: 0 }, npmCommand: 'publish', otp: '123456' };
    expect(Object.keys(trimmed).length).toBeLessThan(Object.keys(full).length / 3);
    for (const key of ['registry', '@sc:registry', 'userAgent', 'authType', 'strictSSL', 'maxSockets', 'timeout', 'noProxy', 'localAddress', 'access']) {
      expect({ key, value: trimmed[key] }).toEqual({ key, value: full[key] });
    }
    const requests = [`${url}/main/plain`, `${url}/scoped/@sc%2fpkg`, `${url}/main/-/whoami`];
    for (const uri of requests) {
      seen.length = 0;
      await (await npmFetch()(uri, { ...full, registry: config.registryFor(uri.includes('scoped') ? '@sc/pkg' : 'plain') })).json();
      await (await npmFetch()(uri, { ...trimmed, registry: config.registryFor(uri.includes('scoped') ? '@sc/pkg' : 'plain') })).json();
      expect(seen).toHaveLength(2);
      const strip = (h: http.IncomingHttpHeaders) => {
        const { 'npm-session': _session, ...rest } = h;
        return rest;
      };
      expect(strip(seen[1].headers)).toEqual(strip(seen[0].headers));
      expect(seen[1].url).toBe(seen[0].url);
    }
    expect(npmFetch().getAuth(`${url}/scoped/x`, trimmed)).toEqual(npmFetch().getAuth(`${url}/scoped/x`, full));
    expect(seen[0].headers.authorization).toBe('Bearer main-token');
  });
});
