'use strict';
/**
 * npm's staged publishing for tests, in front of a real Verdaccio (which has
 * none), as npm 11's `lib/commands/stage/*.js` and libnpmpublish speak it:
 *
 *   POST   /-/stage/package/<escaped name>  the publish document (as PUT /<name>) → 201 { stageId }
 *   GET    /-/stage[?package=<name>]        { items: [item], total }
 *   GET    /-/stage/<id>                    item: { id, packageName, version, tag, createdAt, shasum, integrity }
 *   POST   /-/stage/<id>/approve            needs `npm-otp` (401 www-authenticate: OTP otherwise) → the stored
 *                                           document is PUT to Verdaccio with the registry's token: a real publish
 *   DELETE /-/stage/<id>                    withdraws it
 *
 * A version already live is refused (409), as is a second stage of one
 * version. `approvals` records every approval that reached Verdaccio, in order.
 */
const crypto = require('crypto');
const http = require('http');

const STAGE_PACKAGE = /^\/-\/stage\/package\/([^/?]+)$/;
const STAGE_ITEM = /^\/-\/stage\/([0-9a-f-]{36})(\/approve)?$/;

function send(res, status, doc, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(doc));
  return status;
}

function request(target, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, target), { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function createStagingFront({ target, registryToken, otp }) {
  const stages = new Map();
  const approvals = [];
  const view = (s) => ({ id: s.id, packageName: s.name, version: s.version, tag: s.tag, createdAt: s.createdAt, actor: 'lockstep-e2e', actorType: 'user', shasum: s.shasum, integrity: s.integrity });
  const isLive = async (name, version) => {
    const res = await request(target, 'GET', `/${name.replace('/', '%2f')}`, { accept: 'application/json' });
    if (res.status !== 200) return false;
    return Boolean(JSON.parse(res.body).versions?.[version]);
  };
  return {
    approvals,
    stages,
    async answer(req, res, body) {
      const url = new URL(req.url, 'http://127.0.0.1');
      const staging = STAGE_PACKAGE.exec(url.pathname);
      if (staging && req.method === 'POST') {
        let doc;
        try {
          doc = JSON.parse(body.toString('utf8'));
        } catch {
          return send(res, 400, { error: 'not a publish document' });
        }
        const name = decodeURIComponent(staging[1]);
        const version = Object.keys(doc.versions || {})[0];
        const manifest = (doc.versions || {})[version] || {};
        if (!version || doc.name !== name) return send(res, 400, { error: 'the document names another package' });
        if ([...stages.values()].some((s) => s.name === name && s.version === version)) return send(res, 409, { error: `${name}@${version} is already staged` });
        if (await isLive(name, version)) return send(res, 409, { error: `You cannot publish over the previously published versions: ${version}.` });
        const id = crypto.randomUUID();
        const tag = Object.keys(doc['dist-tags'] || {})[0] || 'latest';
        stages.set(id, { id, name, version, tag, body, createdAt: new Date().toISOString(), shasum: manifest.dist?.shasum, integrity: manifest.dist?.integrity });
        return send(res, 201, { stageId: id });
      }
      if (url.pathname === '/-/stage' && req.method === 'GET') {
        const only = url.searchParams.get('package');
        const items = [...stages.values()].filter((s) => !only || s.name === only).map(view);
        return send(res, 200, { items, total: items.length });
      }
      const item = STAGE_ITEM.exec(url.pathname);
      if (!item) return undefined;
      const stage = stages.get(item[1]);
      if (!stage) return send(res, 404, { error: `no staged package ${item[1]}` });
      if (item[2] && req.method === 'POST') {
        if (otp !== undefined && req.headers['npm-otp'] !== otp) return send(res, 401, { error: 'You must provide a one-time pass.' }, { 'www-authenticate': 'OTP' });
        const put = await request(target, 'PUT', `/${stage.name.replace('/', '%2f')}`, { 'content-type': 'application/json', authorization: `Bearer ${registryToken}`, host: req.headers.host }, stage.body);
        if (put.status < 200 || put.status >= 300) return send(res, put.status, { error: `approving failed upstream: ${put.body.slice(0, 200)}` });
        stages.delete(stage.id);
        approvals.push({ id: stage.id, name: stage.name, version: stage.version });
        return send(res, 200, { ok: true });
      }
      if (!item[2] && req.method === 'GET') return send(res, 200, view(stage));
      if (!item[2] && req.method === 'DELETE') {
        stages.delete(stage.id);
        return send(res, 200, { ok: true });
      }
      return send(res, 405, { error: 'method not allowed' });
    },
    upstreamHeaders: (_req, headers) => headers,
  };
}

/** Several fronts in one proxy: the first that answers wins; headers pass through each. */
function combineFronts(...fronts) {
  return {
    async answer(req, res, body, upload) {
      for (const front of fronts) {
        const answered = await front.answer(req, res, body, upload);
        if (answered !== undefined) return answered;
      }
      return undefined;
    },
    upstreamHeaders: (req, headers) => fronts.reduce((h, front) => front.upstreamHeaders(req, h), headers),
  };
}

module.exports = { createStagingFront, combineFronts };
