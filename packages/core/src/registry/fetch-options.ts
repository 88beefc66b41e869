import type { FetchOptions } from './npm-libs';

/**
 * The top-level npm options npm-registry-fetch and what it builds on
 * (make-fetch-happen, @npmcli/agent, minipass-fetch) read, plus what a plain
 * upload (put-publish.ts) reads: the registry and scope, headers (user agent,
 * npm-command, npm-session, npm-auth-type, OTP), TLS (ca, cert, key,
 * strict-ssl), the network (proxy, https-proxy, noproxy, local-address,
 * maxsockets, fetch-timeout), online/offline, and the upload's access and npm
 * version. Credentials and scoped registries are the `//host/…:key` and
 * `@scope:registry` keys, all kept.
 */
const FETCH_KEYS = new Set([
  'registry',
  'scope',
  'projectScope',
  'userAgent',
  'npmCommand',
  'npmSession',
  'authType',
  'otp',
  '_auth',
  'ca',
  'cert',
  'key',
  'strictSSL',
  'localAddress',
  'proxy',
  'httpsProxy',
  'noProxy',
  'maxSockets',
  'timeout',
  'offline',
  'preferOffline',
  'preferOnline',
  'access',
  'npmVersion',
]);

/**
 * npm's flat options (about 125 keys) cut to those a registry request uses:
 * npm-registry-fetch and make-fetch-happen copy their options several times
 * per request, so every key they never read costs CPU on each of a run's
 * requests. Uploads that go through libnpmpublish (provenance, staging) get
 * npm's whole options, as npm gives them.
 */
export function fetchOptionsOf(options: FetchOptions): FetchOptions {
  const out: FetchOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (FETCH_KEYS.has(key) || key.startsWith('//') || key.startsWith('@')) out[key] = value;
  }
  return out;
}
