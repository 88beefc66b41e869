/**
 * A small server for Nx's self-hosted remote cache API (Nx ≥ 20.8, the
 * OpenAPI spec at nx.dev/docs/kb/self-hosted-caching), for tests only: on
 * 127.0.0.1 and a free port, entries in memory.
 *
 *   PUT /v1/cache/{hash}  body: the entry (a tar archive)  → 200; 409 if the hash is stored already
 *   GET /v1/cache/{hash}                                    → 200 with the entry, 404 if unknown
 *   both need `Authorization: Bearer <token>`               → 401 without, 403 with another token
 *
 * Nx uses it with NX_SELF_HOSTED_REMOTE_CACHE_SERVER=<url> and
 * NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=<token>.
 */
import { randomBytes } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface RemoteCacheServer {
  url: string;
  token: string;
  /** What Nx uploaded, by hash. */
  entries: Map<string, Buffer>;
  /** Every request as `METHOD hash status`, in order. */
  log: string[];
  /** The environment that points nx at this server. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startRemoteCacheServer(): Promise<RemoteCacheServer> {
  const token = randomBytes(16).toString('hex');
  const entries = new Map<string, Buffer>();
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/v1\/cache\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
      const answer = (status: number, body?: Buffer) => {
        log.push(`${req.method} ${match?.[1] ?? req.url} ${status}`);
        res.writeHead(status, body ? { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } : {});
        res.end(body);
      };
      if (!match) return answer(404);
      const auth = req.headers.authorization;
      if (!auth) return answer(401);
      if (auth !== `Bearer ${token}`) return answer(403);
      const hash = match[1];
      if (req.method === 'PUT') {
        if (entries.has(hash)) return answer(409);
        entries.set(hash, Buffer.concat(chunks));
        return answer(200);
      }
      if (req.method === 'GET') {
        const entry = entries.get(hash);
        return entry ? answer(200, entry) : answer(404);
      }
      return answer(405);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    token,
    entries,
    log,
    env: () => ({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
