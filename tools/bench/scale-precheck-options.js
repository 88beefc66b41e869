'use strict';
/**
 * PROTOTYPE for a change proposed in packages/core (registry-client.ts
 * fetchPackument), measured by scale-bench.js; not a library. Today the
 * client hands npm-registry-fetch npm's whole flattened config (~130 keys)
 * on every request, and npm-registry-fetch, make-fetch-happen and
 * @npmcli/agent copy and scan that object several times per request. The
 * lean variant passes only what a fetch needs: the registry, scoped
 * registries, nerf-darted credentials, TLS, proxy, user agent, timeout and
 * sockets. Same library, same request, same answer handling (404 → not
 * there, otherwise the version's dist.integrity).
 */
const path = require('path');
const { REPO_ROOT } = require('./publish-fixture');

const FETCH_KEYS = new Set([
  'registry',
  'userAgent',
  'strictSSL',
  'ca',
  'cert',
  'key',
  'proxy',
  'httpsProxy',
  'noProxy',
  'localAddress',
  'maxSockets',
  'timeout',
  'npmSession',
  'npmCommand',
  'otp',
]);

/** The keys of npm's flat options a registry fetch uses. */
function leanOptions(flat) {
  return Object.fromEntries(Object.entries(flat).filter(([k]) => FETCH_KEYS.has(k) || k.startsWith('//') || /:registry$/.test(k)));
}

/** getPublished(name, version) over npm-registry-fetch with the lean options (no retries: a prototype). */
function leanGetPublished(core, client) {
  const npmFetch = require(require.resolve('npm-registry-fetch', { paths: [path.join(REPO_ROOT, 'packages', 'core')] }));
  const base = {
    ...leanOptions(client.config.options),
    retry: { retries: 0 },
    method: 'GET',
    preferOnline: true,
    preferOffline: false,
    offline: false,
    headers: { accept: 'application/json', 'cache-control': 'no-cache' },
  };
  return async (name, version) => {
    const registry = client.registryFor(name);
    try {
      const res = await npmFetch(`${registry}${core.escapeName(name)}`, { ...base, registry });
      const doc = await res.json();
      const entry = doc && doc.versions && doc.versions[version];
      return entry ? { integrity: (entry.dist && entry.dist.integrity) || '', distTags: { ...(doc['dist-tags'] || {}) } } : undefined;
    } catch (error) {
      if (error && error.statusCode === 404) return undefined;
      throw error;
    }
  };
}

module.exports = { leanOptions, leanGetPublished, FETCH_KEYS };
