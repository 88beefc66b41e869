'use strict';
/**
 * A fault-injecting HTTP proxy for a registry (tests, demo, benchmarks).
 *
 *   const proxy = await startFaultProxy({ target: registry.url, latencyMs: 100, faultRate: 0.05, seed: 42 });
 *   // point clients at proxy.url; read proxy.stats; proxy.setOptions({ faultRate: 0 }); await proxy.stop();
 *
 * Listens on 127.0.0.1 (a free port), forwards every request to `target`
 * keeping the client's Host header, so Verdaccio writes tarball URLs that
 * point at the proxy (it builds them from the request's Host) and a client
 * talking to the proxy can fetch them through it.
 *
 * Faults (`faults`, chosen uniformly when a request is picked at `faultRate`,
 * or returned by `rules(req)`):
 *   '429'            answered by the proxy with a Retry-After header
 *   '500' '502' '503' (any status)  answered by the proxy, nothing forwarded
 *   'reset'          the client's socket is destroyed, nothing forwarded
 *   'hang'           never answered and never forwarded: the request stays
 *                    open until the client gives up (a registry that hangs);
 *                    its status is 'hang' once the client has closed it
 *   '<fault>-after'  e.g. 'reset-after', '503-after': the request IS forwarded
 *                    and applied by the registry, then the response is lost
 *                    (socket destroyed) or replaced by that status: the
 *                    "response lost after the upload landed" case.
 * `front`: answers some requests itself and rewrites the headers of what it
 * forwards (trusted-publishing.js: npm's OIDC exchange).
 * With `seed` the choice of faulted requests is deterministic (mulberry32).
 *
 * `uploadGate` (a promise, set through setOptions): uploads that arrive while
 * it is set wait for it before anything else happens to them, so a test can
 * hold a run's uploads in flight until something it waits for has happened.
 *
 * stats: { requests, faults, faultsByKind, forwarded, uploads: [{ name,
 * version, start, end, status, fault, forwarded }], log: [{ method, path,
 * status, fault, start, end }] }. An upload is a PUT /<package> with a body
 * (a publish); `forwarded` says whether it reached the registry. Times are
 * milliseconds on one monotonic clock (performance.timeOrigin + now()).
 */
const http = require('http');
const { performance } = require('perf_hooks');

const DEFAULT_FAULTS = ['429', '500', '503', 'reset'];

/** A small deterministic PRNG: the same seed gives the same sequence in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const now = () => performance.timeOrigin + performance.now();
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** name and versions of a publish body, or undefined when it is not one. */
function parseUpload(method, path, body) {
  if (method !== 'PUT' || !body || body.length === 0) return undefined;
  const pathname = path.split('?')[0];
  if (pathname.startsWith('/-/')) return undefined;
  let name = decodeURIComponent(pathname.slice(1));
  let versions = [];
  try {
    const doc = JSON.parse(body.toString('utf8'));
    if (doc && typeof doc.name === 'string') name = doc.name;
    if (doc && doc.versions && typeof doc.versions === 'object') versions = Object.keys(doc.versions);
    // A publish carries the tarball; other PUTs (deprecate, star, owner) do not.
    if (!doc || !doc._attachments || Object.keys(doc._attachments).length === 0) return undefined;
  } catch {
    return undefined;
  }
  return { name, version: versions.length === 1 ? versions[0] : versions.join(','), versions };
}

function parseFault(fault) {
  if (!fault || fault === 'none') return undefined;
  const text = String(fault);
  if (text === 'hang') return { name: text, kind: 'hang', after: false };
  const after = text.endsWith('-after');
  const kind = after ? text.slice(0, -'-after'.length) : text;
  if (kind !== 'reset' && !/^\d{3}$/.test(kind)) throw new Error(`fault-proxy: unknown fault '${fault}'`);
  return { name: text, kind, after };
}

async function startFaultProxy(initial = {}) {
  if (!initial.target) throw new Error('fault-proxy: target is required');
  const options = {
    latencyMs: 0,
    faultRate: 0,
    faults: DEFAULT_FAULTS,
    retryAfterSeconds: 1,
    seed: undefined,
    rules: undefined,
    ...initial,
  };
  let target = new URL(options.target);
  let random = options.seed === undefined ? Math.random : mulberry32(options.seed);

  const stats = { requests: 0, faults: 0, faultsByKind: {}, forwarded: 0, uploads: [], log: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set();

  function chooseFault(info) {
    if (typeof options.rules === 'function') {
      const ruled = options.rules(info);
      if (ruled === false || ruled === null || ruled === 'none') return undefined;
      if (ruled !== undefined) return parseFault(ruled);
    }
    if (!(options.faultRate > 0) || options.faults.length === 0) return undefined;
    if (random() >= options.faultRate) return undefined;
    return parseFault(options.faults[Math.floor(random() * options.faults.length)]);
  }

  function sendFault(res, fault) {
    if (fault.kind === 'reset') {
      res.socket?.destroy();
      return;
    }
    const status = Number(fault.kind);
    const headers = { 'content-type': 'application/json', connection: 'close' };
    if (status === 429 || status === 503) headers['retry-after'] = String(options.retryAfterSeconds);
    res.writeHead(status, headers);
    res.end(JSON.stringify({ error: `fault-proxy injected ${status}` }));
  }

  function forward(req, body) {
    return new Promise((resolve, reject) => {
      const headers = options.front ? options.front.upstreamHeaders(req, { ...req.headers }) : { ...req.headers };
      // Keep the client's Host (tarball URLs must point at the proxy); the
      // body is re-sent whole, so its length is known.
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
      const upstream = http.request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        resolve,
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  const server = http.createServer((req, res) => {
    const start = now();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      stats.requests += 1;
      const upload = parseUpload(req.method, req.url, body);
      const entry = { method: req.method, path: req.url, status: undefined, fault: undefined, start, end: undefined };
      stats.log.push(entry);
      const record = upload && { name: upload.name, version: upload.version, start, end: undefined, status: undefined, fault: undefined, forwarded: false };
      if (record) stats.uploads.push(record);
      const finish = (status) => {
        entry.status = status;
        entry.end = now();
        if (record) {
          record.status = status;
          record.end = entry.end;
        }
      };
      try {
        if (record && options.uploadGate) await options.uploadGate;
        if (options.latencyMs > 0) await delay(options.latencyMs);
        // Endpoints the registry lacks (trusted publishing: trusted-publishing.js) are answered in front of it.
        const answered = options.front ? await options.front.answer(req, res, body, upload) : undefined;
        if (answered !== undefined) return finish(answered);
        const fault = chooseFault({
          method: req.method,
          url: req.url,
          headers: req.headers,
          isUpload: Boolean(upload),
          name: upload?.name,
          version: upload?.version,
          body,
        });
        if (fault) {
          stats.faults += 1;
          stats.faultsByKind[fault.name] = (stats.faultsByKind[fault.name] || 0) + 1;
          entry.fault = fault.name;
          if (record) record.fault = fault.name;
        }
        if (fault && fault.kind === 'hang') {
          // Nothing is sent and nothing forwarded: the client waits until it gives up (or the proxy stops).
          res.on('close', () => finish('hang'));
          return undefined;
        }
        if (fault && !fault.after) {
          finish(fault.kind === 'reset' ? 'reset' : Number(fault.kind));
          return sendFault(res, fault);
        }
        stats.forwarded += 1;
        if (record) record.forwarded = true;
        const upstream = await forward(req, body);
        if (fault) {
          // Applied by the registry, but the client never hears the answer.
          upstream.resume();
          await new Promise((resolve) => upstream.on('end', resolve).on('error', resolve));
          finish(fault.kind === 'reset' ? 'reset' : Number(fault.kind));
          return sendFault(res, fault);
        }
        res.writeHead(upstream.statusCode || 502, upstream.headers);
        upstream.pipe(res);
        upstream.on('end', () => finish(upstream.statusCode));
        upstream.on('error', () => {
          finish('upstream-error');
          res.destroy();
        });
      } catch (error) {
        finish(502);
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `fault-proxy: upstream failed: ${error.message}` }));
        } else res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 60000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port || 0, '127.0.0.1', resolve);
  });
  const port = server.address().port;

  let stopped;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    stats,
    /**
     * Changes latency, fault rate, faults, rules, retryAfterSeconds (and
     * reseeds with `seed`); `target` points the proxy at another registry
     * (the side-by-side bench starts a fresh Verdaccio per run behind one proxy).
     */
    setOptions(partial) {
      Object.assign(options, partial);
      if ('target' in partial) target = new URL(partial.target);
      if ('seed' in partial) random = partial.seed === undefined ? Math.random : mulberry32(partial.seed);
    },
    /** Zeroes the counters (keeps the options). */
    resetStats() {
      stats.requests = 0;
      stats.faults = 0;
      stats.forwarded = 0;
      stats.faultsByKind = {};
      stats.uploads.length = 0;
      stats.log.length = 0;
    },
    /** Uploads of name@version that reached the registry (or all of them with { forwardedOnly: false }). */
    uploadsOf(name, version, { forwardedOnly = true } = {}) {
      return stats.uploads.filter(
        (u) => u.name === name && (version === undefined || u.version === version) && (!forwardedOnly || u.forwarded),
      );
    },
    stop() {
      if (!stopped) {
        stopped = new Promise((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
          agent.destroy();
        });
      }
      return stopped;
    },
  };
}

module.exports = { startFaultProxy, mulberry32, DEFAULT_FAULTS };
