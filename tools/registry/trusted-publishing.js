'use strict';
/**
 * npm's trusted publishing for tests, in front of a real Verdaccio (which has
 * none): a fake CI identity endpoint and the registry's OIDC exchange.
 *
 *   const ci = await startCiIdentity({ claims: { repository: 'acme/app', workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main' } });
 *   const tp = createTrustedPublishingFront({ registryToken: registry.token, trusted: (name) => name !== '@s/untrusted' });
 *   const proxy = await startFaultProxy({ target: registry.url, front: tp });
 *   // the job's environment: GITHUB_ACTIONS=true, ACTIONS_ID_TOKEN_REQUEST_URL=ci.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN=ci.requestToken
 *
 * The identity endpoint answers like GitHub Actions' (`GET <url>&audience=…`
 * with `Authorization: Bearer <request token>` → `{ value: <JWT> }`); the JWT's
 * payload carries `aud` and the given claims (its signature is random: the
 * front trusts the tokens the endpoint issued, by value).
 *
 * The front answers `POST /-/npm/v1/oidc/token/exchange/package/<escaped
 * name>` as npm's registry does: the bearer must be an identity token the CI
 * issued for the audience `npm:<host>`, the package must have a trusted
 * publisher (`trusted(name)`), and the answer is `{ token }`, a token that
 * may publish that one package. An upload carrying an exchanged token is
 * refused (403) unless it is for that token's package; otherwise the front
 * records it (`uploads: [{ name, version, token }]`) and forwards it with the
 * registry's own token in its place. Exchanges are recorded in `exchanges`.
 */
const crypto = require('crypto');
const http = require('http');

const EXCHANGE = /^\/-\/npm\/v1\/oidc\/token\/exchange\/package\/([^/?]+)$/;

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function bearerOf(req) {
  const value = req.headers.authorization;
  const m = typeof value === 'string' ? /^Bearer (.+)$/i.exec(value) : undefined;
  return m ? m[1] : undefined;
}

function send(res, status, doc) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(doc));
  return status;
}

/** Identity tokens issued by every startCiIdentity of this process, with their audience. */
const issuedIdentities = new Map();

/** A loopback identity endpoint like GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL. */
async function startCiIdentity({ claims = {} } = {}) {
  const requestToken = `ci-request-${crypto.randomBytes(12).toString('hex')}`;
  const issued = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (bearerOf(req) !== requestToken) return send(res, 401, { message: 'bad request token' });
    const audience = url.searchParams.get('audience') || 'https://github.com/owner';
    const payload = { iss: 'https://token.actions.fake', aud: audience, sub: `repo:${claims.repository || 'owner/repo'}`, iat: Math.floor(Date.now() / 1000), ...claims };
    const jwt = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(payload)}.${crypto.randomBytes(32).toString('base64url')}`;
    issuedIdentities.set(jwt, audience);
    issued.push(jwt);
    return send(res, 200, { count: 1, value: jwt });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}/token?api-version=2.0`;
  return {
    url,
    requestToken,
    /** Every identity token handed out. */
    issued,
    /** The environment of a GitHub Actions job with `id-token: write`. */
    env: () => ({ GITHUB_ACTIONS: 'true', CI: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function createTrustedPublishingFront({ registryToken, trusted = () => true }) {
  const tokens = new Map();
  const exchanges = [];
  const uploads = [];
  return {
    exchanges,
    uploads,
    /** Every exchanged token so far. */
    tokens: () => [...tokens.keys()],
    /** Answers the exchange and refuses uploads with another package's token; returns the status it answered, or undefined to go on. */
    answer(req, res, body, upload) {
      const pathname = req.url.split('?')[0];
      const m = EXCHANGE.exec(pathname);
      if (m && req.method === 'POST') {
        const name = decodeURIComponent(m[1]);
        const idToken = bearerOf(req);
        const audience = idToken && issuedIdentities.get(idToken);
        const host = (req.headers.host || '').replace(/:\d+$/, '');
        if (!audience || audience !== `npm:${host}`) {
          exchanges.push({ name, status: 401 });
          return send(res, 401, { message: 'Unable to verify the OIDC identity token' });
        }
        if (!trusted(name)) {
          exchanges.push({ name, status: 404 });
          return send(res, 404, { message: `No trusted publisher configured for package ${name}` });
        }
        const token = `npm_oidc_${crypto.randomBytes(18).toString('hex')}`;
        tokens.set(token, name);
        exchanges.push({ name, status: 201 });
        return send(res, 201, { token });
      }
      const bearer = bearerOf(req);
      const owner = bearer && tokens.get(bearer);
      if (owner && upload) {
        if (upload.name !== owner) return send(res, 403, { error: `this token may publish ${owner}, not ${upload.name}` });
        uploads.push({ name: upload.name, version: upload.version, token: bearer });
      }
      return undefined;
    },
    /** The headers sent on to the registry: an exchanged token becomes the registry's own. */
    upstreamHeaders(req, headers) {
      const bearer = bearerOf(req);
      if (bearer && tokens.has(bearer)) headers.authorization = `Bearer ${registryToken}`;
      return headers;
    },
  };
}

module.exports = { startCiIdentity, createTrustedPublishingFront };
