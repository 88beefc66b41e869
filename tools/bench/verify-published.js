'use strict';
/**
 * Checks what a publish run left on the registry (side-by-side.js,
 * scale-publish.js), straight against Verdaccio (not through the proxy):
 * for every package, `version` is in its packument, the tarball the registry
 * serves hashes to the packument's dist.integrity, and that integrity equals
 * the one of a local pack of the package's folder (`expected`). A run with
 * any problem is invalid; the first few problems are returned.
 *
 * The local pack is lockstep's packPackage (core API), byte for byte what
 * `npm pack` makes of these folders. A tool that changes the manifest when it
 * packs (Lerna adds `gitHead`) cannot match it byte for byte; for such a tool
 * `manifestExtras` lists the keys it may add, and its tarball is checked file
 * by file instead: the same files with the same bytes, package.json equal
 * once those keys are removed.
 */
const crypto = require('crypto');
const http = require('http');
const path = require('path');
const zlib = require('zlib');

function get(url, token) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const sri = (buf) => `sha512-${crypto.createHash('sha512').update(buf).digest('base64')}`;

/** { path → Buffer } of a .tgz (ustar + pax long names: enough for npm tarballs). */
function untar(tgz) {
  const tar = zlib.gunzipSync(tgz);
  const files = {};
  let offset = 0;
  let longName;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const str = (a, b) => header.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = str(156, 157) || '0';
    const prefix = str(345, 500);
    let name = longName || (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    longName = undefined;
    const data = tar.subarray(offset + 512, offset + 512 + size);
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) longName = m[1];
    } else if (type === '0') {
      files[name.replace(/^\.\//, '')] = Buffer.from(data);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function sameContent(actual, expected, extras) {
  const a = untar(actual);
  const e = untar(expected);
  if (!a['package/package.json'] || !e['package/package.json']) return 'no package/package.json in the tarball';
  const names = (o) => Object.keys(o).sort().join('\n');
  if (names(a) !== names(e)) return `files differ: ${Object.keys(a).sort().join(', ')} vs ${Object.keys(e).sort().join(', ')}`;
  for (const name of Object.keys(e)) {
    if (name === 'package/package.json') {
      const ja = JSON.parse(a[name].toString('utf8'));
      for (const k of extras) delete ja[k];
      const je = JSON.parse(e[name].toString('utf8'));
      if (JSON.stringify(ja) !== JSON.stringify(je)) return 'package.json differs';
    } else if (!a[name].equals(e[name])) return `${name} differs`;
  }
  return undefined;
}

/**
 * packages: [{ name, version, expected: { integrity, tarball } }]; registry: { url, token }.
 * Resolves { ok, checked, problems: [string], sameBytes (count of byte-identical tarballs) }.
 */
async function verifyPublished({ registry, packages, manifestExtras = [], parallel = 8 }) {
  const problems = [];
  let sameBytes = 0;
  let next = 0;
  const base = registry.url.replace(/\/$/, '');
  const one = async (p) => {
    const res = await get(`${base}/${p.name.replace('/', '%2f')}`, registry.token);
    if (res.status !== 200) return problems.push(`${p.name}: packument HTTP ${res.status}`);
    const doc = JSON.parse(res.body.toString('utf8'));
    const v = doc.versions && doc.versions[p.version];
    if (!v) return problems.push(`${p.name}@${p.version} is missing`);
    const integrity = v.dist && v.dist.integrity;
    // Verdaccio writes tarball URLs for the host the publish came through (the proxy): fetch from Verdaccio itself.
    const tarballPath = new URL(v.dist.tarball).pathname;
    const tgz = await get(`${base}${tarballPath}`, registry.token);
    if (tgz.status !== 200) return problems.push(`${p.name}@${p.version}: tarball HTTP ${tgz.status}`);
    if (sri(tgz.body) !== integrity) return problems.push(`${p.name}@${p.version}: the served tarball does not hash to dist.integrity`);
    if (integrity === p.expected.integrity) {
      sameBytes += 1;
      return undefined;
    }
    if (!manifestExtras.length) return problems.push(`${p.name}@${p.version}: integrity ${integrity.slice(0, 20)}… is not the local pack's ${p.expected.integrity.slice(0, 20)}…`);
    const diff = sameContent(tgz.body, p.expected.tarball, manifestExtras);
    if (diff) problems.push(`${p.name}@${p.version}: not the local pack's content (${diff})`);
    return undefined;
  };
  const workers = Array.from({ length: Math.min(parallel, packages.length) }, async () => {
    while (next < packages.length) {
      const p = packages[next++];
      try {
        await one(p);
      } catch (error) {
        problems.push(`${p.name}: ${error.message}`);
      }
    }
  });
  await Promise.all(workers);
  return { ok: problems.length === 0, checked: packages.length, sameBytes, problems: problems.slice(0, 5), problemCount: problems.length };
}

/** The local packs of `graph` at `version` in workspace `ws` (core's packPackage). */
async function localPacks(core, ws, graph, version) {
  const out = new Map();
  const releaseVersions = new Map(graph.nodes.map((n) => [n.name, version]));
  let next = 0;
  const workers = Array.from({ length: 4 }, async () => {
    while (next < graph.nodes.length) {
      const node = graph.nodes[next++];
      const packed = await core.packPackage(path.join(ws, node.dir), { releaseVersions, workspaceVersions: new Map(), workspaceRoot: ws });
      out.set(node.name, { integrity: packed.integrity, tarball: Buffer.from(packed.tarball) });
    }
  });
  await Promise.all(workers);
  return out;
}

module.exports = { verifyPublished, localPacks, untar, sri };
