'use strict';
/**
 * A real Verdaccio 6.8 on 127.0.0.1 for tests, the demo and benchmarks.
 *
 *   const { startRegistry, writeNpmrc } = require('./tools/registry/verdaccio');
 *   const registry = await startRegistry();      // { url, port, token, stop(), storageDir, … }
 *   writeNpmrc(workspaceDir, registry);          // registry= and //127.0.0.1:PORT/:_authToken=
 *   await registry.stop();
 *
 * Verdaccio runs in a child process (tools/registry/verdaccio-child.js) so a
 * test can never be wedged by it, and `stop()` really ends it (SIGTERM, then
 * SIGKILL after a grace period). The child also exits by itself when its
 * parent goes away. Configuration: no uplinks (nothing leaves the machine),
 * web UI off, no middlewares (so no audit), htpasswd auth without a user
 * limit, JWT API tokens (checked without a bcrypt per request), packages
 * '@*\/*' and '**' readable by everyone and publishable by authenticated users.
 *
 * Start-up (fork → listening → user created → token) measured here: about
 * 0.4 s warm (0.5–0.6 s with two starting at once, ~1 s the first time after
 * boot); stop() about 10–25 ms. `startupMs` on the result says how long it took.
 */
const { fork } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const CHILD = path.join(__dirname, 'verdaccio-child.js');
const DEFAULT_USER = 'lockstep';
// A throwaway registry on loopback: a fixed password lets a restart on the
// same storageDir log the same user in again.
const DEFAULT_PASSWORD = 'lockstep-local-registry';

/** The Verdaccio configuration object (what config.yaml would hold). */
function verdaccioConfig({ storageDir, configPath, logLevel }) {
  const access = { access: '$all', publish: '$authenticated', unpublish: '$authenticated' };
  return {
    self_path: configPath,
    configPath,
    storage: storageDir,
    // No max_users: verdaccio-htpasswd then allows any number of users
    // (-1 would disable sign-up).
    auth: { htpasswd: { file: path.join(storageDir, '.htpasswd'), algorithm: 'bcrypt', rounds: 4 } },
    uplinks: {},
    packages: { '@*/*': { ...access }, '**': { ...access } },
    web: { enable: false },
    // The default config.yaml enables the audit middleware (it proxies to
    // npmjs); an empty map loads no middleware at all.
    middlewares: {},
    security: {
      api: { legacy: false, jwt: { sign: { expiresIn: '7d' } } },
      web: { sign: { expiresIn: '7d' } },
    },
    // Tests create users and tokens freely.
    userRateLimit: { windowMs: 1000, max: 100000 },
    max_body_size: '200mb',
    server: { keepAliveTimeout: 60 },
    publish: { allow_offline: true },
    log: { type: 'stdout', format: 'json', level: logLevel },
  };
}

function childEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    // VERDACCIO_PUBLIC_URL would override the request host in tarball URLs,
    // VERDACCIO_STORAGE_PATH the storage; proxies must not see loopback traffic.
    if (/^verdaccio_/i.test(key) || /^(https?_proxy|no_proxy|all_proxy)$/i.test(key)) delete env[key];
  }
  env.NODE_ENV = 'production';
  return env;
}

/** A small JSON request to the registry (no npm libraries: this file is a test tool). */
function requestJson(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      url,
      {
        method,
        headers: {
          accept: 'application/json',
          ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, json, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * Creates `name` (or logs it in if it exists) and returns an API token, the
 * way `npm adduser` does: PUT /-/user/org.couchdb.user:NAME, and on 409 the
 * same PUT with basic auth.
 */
async function createUser(url, name = DEFAULT_USER, password = DEFAULT_PASSWORD) {
  const endpoint = `${url.replace(/\/$/, '')}/-/user/org.couchdb.user:${encodeURIComponent(name)}`;
  const body = { _id: `org.couchdb.user:${name}`, name, password, type: 'user', roles: [], date: new Date().toISOString() };
  let res = await requestJson(endpoint, { method: 'PUT', body });
  if (res.status === 409) {
    const basic = Buffer.from(`${name}:${password}`).toString('base64');
    res = await requestJson(endpoint, { method: 'PUT', body, headers: { authorization: `Basic ${basic}` } });
  }
  if (res.status !== 201 || !res.json || typeof res.json.token !== 'string') {
    throw new Error(`verdaccio: could not create user ${name}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  }
  return res.json.token;
}

/**
 * Starts Verdaccio. Options: storageDir (kept on stop when given; by default a
 * temp dir removed on stop), port (default: a free one), logLevel (default
 * env LOCKSTEP_VERDACCIO_LOG_LEVEL or 'warn'), user/password, startTimeoutMs.
 */
async function startRegistry(options = {}) {
  const started = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-verdaccio-'));
  const storageDir = path.resolve(options.storageDir || path.join(root, 'storage'));
  fs.mkdirSync(storageDir, { recursive: true });
  const configPath = path.join(root, 'config.json');
  const logFile = path.join(root, 'verdaccio.log');
  const logLevel = options.logLevel || process.env.LOCKSTEP_VERDACCIO_LOG_LEVEL || 'warn';
  fs.writeFileSync(configPath, JSON.stringify(verdaccioConfig({ storageDir, configPath, logLevel }), null, 2));

  const logFd = fs.openSync(logFile, 'a');
  let child;
  try {
    child = fork(CHILD, [configPath, String(options.port || 0)], {
      env: childEnv(),
      stdio: ['ignore', logFd, logFd, 'ipc'],
      execArgv: [],
    });
  } finally {
    fs.closeSync(logFd);
  }
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const readLog = () => {
    try {
      return fs.readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };

  let stopped;
  const stop = () => {
    if (!stopped) {
      stopped = (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        if (child.connected) child.disconnect();
        // root holds the config, the log and (unless storageDir was given) the storage.
        if (process.env.LOCKSTEP_VERDACCIO_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
      })();
    }
    return stopped;
  };

  try {
    const timeoutMs = options.startTimeoutMs || 30000;
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`verdaccio did not start within ${timeoutMs} ms\n${readLog()}`)), timeoutMs);
      child.on('message', (msg) => {
        if (msg && typeof msg.port === 'number') {
          clearTimeout(timer);
          resolve(msg.port);
        } else if (msg && msg.error) {
          clearTimeout(timer);
          reject(new Error(`verdaccio failed to start: ${msg.error}\n${readLog()}`));
        }
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`verdaccio exited during start-up (code ${code}, signal ${signal})\n${readLog()}`));
      });
    });
    // The IPC channel stays open: the child exits when we disconnect or die.
    const url = `http://127.0.0.1:${port}/`;
    const token = await createUser(url, options.user, options.password);
    return {
      url,
      port,
      token,
      user: options.user || DEFAULT_USER,
      storageDir,
      logFile,
      pid: child.pid,
      startupMs: Date.now() - started,
      createUser: (name, password) => createUser(url, name, password),
      readLog,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `//host:port/path/` for a registry URL, as npm keys credentials. */
function nerfDart(registry) {
  const parsed = new URL(registry);
  const from = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  const rel = new URL('.', from);
  return `//${rel.host}${rel.pathname}`;
}

/**
 * Writes `<dir>/.npmrc` with `registry=` and the token keyed by the registry
 * (`//127.0.0.1:PORT/:_authToken=`). Extra lines (`@scope:registry=…`) may be
 * given in `lines`. Returns the file's path.
 */
function writeNpmrc(dir, { registry, url, token, lines = [] } = {}) {
  const reg = registry || url;
  if (!reg) throw new Error('writeNpmrc: registry is required');
  const content = [`registry=${reg}`];
  if (token) content.push(`${nerfDart(reg)}:_authToken=${token}`);
  content.push(...lines);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, '.npmrc');
  fs.writeFileSync(file, `${content.join('\n')}\n`, { mode: 0o600 });
  return file;
}

module.exports = { startRegistry, writeNpmrc, createUser, nerfDart, verdaccioConfig, DEFAULT_USER };
