import { existsSync } from 'fs';
import * as path from 'path';
import { npmConfigFileError, npmConfigLoadError, npmConfigRegistryUrlError, npmConfigScopeUrlError } from './errors';
import { FetchOptions, loadNpmcliConfig, npmFetch } from './npm-libs';
import { createRedactor } from './redact';

export interface LoadNpmConfigOptions {
  /**
   * Where npm would run: the project `.npmrc` is the one of the nearest
   * ancestor with a package.json or node_modules (or of the npm workspace
   * root containing it). Pass the workspace root.
   */
  cwd: string;
  /** Default process.env. Read, never modified. */
  env?: Record<string, string | undefined>;
  /** Overrides the default registry (like `npm --registry`); `@scope:registry` entries still apply. */
  registry?: string;
  /** Where npm is installed, for its builtin `npmrc`; found from the environment by default. */
  npmPath?: string;
}

export interface NpmConfig {
  /** The default registry, with a trailing slash. */
  registry: string;
  /** `@scope` → registry URL (trailing slash), from `@scope:registry`. */
  scopes: Record<string, string>;
  /**
   * Options for npm-registry-fetch and libnpmpublish: npm's flat options
   * (registry, `@scope:registry`, nerf-darted credentials
   * `//host/:_authToken`, TLS, proxy, user agent, timeout), without npm's
   * cache path and retry settings (the client sets its own).
   */
  options: FetchOptions;
  /** Every credential value found (tokens, `_auth`, passwords, OTP), for redact(). */
  secrets: string[];
  /** npm's `provenance` setting (.npmrc, NPM_CONFIG_PROVENANCE): true when set to true there. */
  provenance: boolean;
  /** The config files that were read (project, user, global, builtin). */
  files: string[];
  /** The registry a package name publishes to (its scope's registry, or the default). */
  registryFor(name: string): string;
  /** Whether a token, basic auth or a client certificate is configured for that registry. */
  hasCredentials(registry: string): boolean;
  /**
   * Where the credentials for that registry come from, for hints, e.g.
   * "`//127.0.0.1:4873/:_authToken` in /repo/.npmrc", "NODE_AUTH_TOKEN", or
   * "none configured (…)". Never contains a secret.
   */
  describeCredentials(registry: string): string;
}

const CREDENTIAL_SUFFIX = /:(_authToken|_auth|_password|username|certfile|keyfile)$/;
const SECRET_SUFFIX = /:(_authToken|_auth|_password)$/;
const UNRESOLVED = /\$\{([^${}?]+)\}/;

/** `//host[:port]/path/` for a registry URL: the key npm files credentials under. */
export function nerfDart(url: string): string {
  const parsed = new URL(url);
  const from = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  const rel = new URL('.', from);
  return `//${rel.host}${rel.pathname}`;
}

/** A registry URL with exactly one trailing slash; throws on something that is not an http(s) URL. */
export function normalizeRegistry(url: string): string {
  const parsed = new URL(url.trim());
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${url}`);
  return parsed.href.replace(/\/*$/, '/');
}

/** The scope of a package name (`@scope`), or undefined. */
export function scopeOf(name: string): string | undefined {
  const m = /^(@[^/]+)\//.exec(name);
  return m ? m[1] : undefined;
}

function defaultNpmPath(env: Record<string, string | undefined>): string {
  const candidates: string[] = [];
  if (env.npm_execpath && /npm-cli\.js$/.test(env.npm_execpath)) candidates.push(path.dirname(path.dirname(env.npm_execpath)));
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm'), path.join(path.dirname(process.execPath), 'node_modules', 'npm'));
  // A missing builtin npmrc is fine (npm tolerates ENOENT); only the path is needed.
  return candidates.find((c) => existsSync(path.join(c, 'package.json'))) ?? candidates[candidates.length - 1];
}

/**
 * Loads npm's configuration the way npm 11 does (@npmcli/config with npm's
 * own definitions): builtin, global (`$PREFIX/etc/npmrc`), user (`~/.npmrc`
 * or `NPM_CONFIG_USERCONFIG`), project `.npmrc`, then `NPM_CONFIG_*` from
 * the environment, with `${VAR}` expanded in keys and values. On top:
 *  - `registry` overrides the default registry;
 *  - `NODE_AUTH_TOKEN` becomes the token of the default registry when no
 *    credentials are configured for it (what actions/setup-node expects);
 *  - a credential whose `${VAR}` is not set is dropped (npm would send the
 *    literal text) and reported by describeCredentials().
 * Files that exist but cannot be read, and unusable values, are ECONFIG.
 */
export async function loadNpmConfig(options: LoadNpmConfigOptions): Promise<NpmConfig> {
  const sourceEnv = options.env ?? process.env;
  // @npmcli/config writes npm_config_* and INIT_CWD into the env it is given.
  const env: Record<string, string | undefined> = { ...sourceEnv };
  const envSecrets = [sourceEnv.NODE_AUTH_TOKEN];
  let redactText = createRedactor(envSecrets);

  const { Config, defs } = loadNpmcliConfig();
  const conf = new Config({
    definitions: defs.definitions,
    shorthands: defs.shorthands,
    flatten: defs.flatten,
    nerfDarts: defs.nerfDarts,
    npmPath: options.npmPath ?? defaultNpmPath(sourceEnv),
    env,
    // Never let @npmcli/config parse our own process's argv.
    argv: [process.execPath, 'lockstep'],
    cwd: path.resolve(options.cwd),
    execPath: process.execPath,
    platform: process.platform,
    warn: false,
  });
  try {
    await conf.load();
  } catch (error) {
    throw npmConfigLoadError(error, redactText);
  }

  const files: string[] = [];
  for (const where of ['builtin', 'global', 'user', 'project']) {
    const layer = conf.data.get(where);
    if (!layer?.source) continue;
    const loadError = layer.loadError;
    if (loadError && loadError.code !== 'ENOENT') {
      throw npmConfigFileError(where, layer.source, loadError, redactText);
    }
    if (!loadError && path.isAbsolute(layer.source)) files.push(layer.source);
  }

  const flat: FetchOptions = { ...conf.flat };
  // Where a key was set, for hints: a file path or "the environment".
  const originOf = (key: string): string => {
    const where = conf.find(key);
    const source = where ? conf.data.get(where)?.source : undefined;
    if (!source) return 'npm config';
    return path.isAbsolute(source) ? source : `the ${source}`;
  };

  let registry: string;
  try {
    registry = normalizeRegistry(options.registry ?? String(flat.registry ?? 'https://registry.npmjs.org/'));
  } catch (error) {
    const bad = options.registry ?? String(flat.registry);
    throw npmConfigRegistryUrlError(bad, options.registry ? { option: true } : { file: originOf('registry') }, error, redactText);
  }
  flat.registry = registry;

  const scopes: Record<string, string> = {};
  for (const [key, value] of Object.entries(flat)) {
    const m = /^(@[^:]+):registry$/i.exec(key);
    if (!m || typeof value !== 'string') continue;
    try {
      scopes[m[1]] = normalizeRegistry(value);
      flat[key] = scopes[m[1]];
    } catch (error) {
      throw npmConfigScopeUrlError(key, value, originOf(key), error, redactText);
    }
  }

  // Credentials: collect secrets, drop unresolved ${VAR}s, remember origins.
  const secrets = new Set<string>();
  const unresolved = new Map<string, string>(); // nerf dart → explanation
  const origins = new Map<string, string>(); // nerf dart → "`key` in file"
  for (const [key, value] of Object.entries(flat)) {
    if (!key.startsWith('//')) continue;
    const m = CREDENTIAL_SUFFIX.exec(key);
    if (!m || typeof value !== 'string') continue;
    const dart = key.slice(0, -m[0].length);
    const missing = UNRESOLVED.exec(value);
    if (missing && m[1] !== 'certfile' && m[1] !== 'keyfile') {
      delete flat[key];
      unresolved.set(dart, `\`${key}\` in ${originOf(key)} refers to \${${missing[1]}}, which is not set`);
      continue;
    }
    if (SECRET_SUFFIX.test(key)) {
      secrets.add(value);
      if (m[1] === '_password') secrets.add(Buffer.from(value, 'base64').toString('utf8'));
      if (m[1] === '_auth') secrets.add(Buffer.from(value, 'base64').toString('utf8').split(':').slice(1).join(':'));
    }
    if (!origins.has(dart) || m[1] === '_authToken') origins.set(dart, `\`${key}\` in ${originOf(key)}`);
  }
  // username + _password are sent as Basic base64(user:pass).
  for (const [key, value] of Object.entries(flat)) {
    if (!key.endsWith(':username') || typeof value !== 'string') continue;
    const pass = flat[key.replace(/:username$/, ':_password')];
    if (typeof pass === 'string') {
      secrets.add(Buffer.from(`${value}:${Buffer.from(pass, 'base64').toString('utf8')}`).toString('base64'));
    }
  }
  if (typeof flat._auth === 'string' && flat._auth) secrets.add(flat._auth);
  if (typeof flat.otp === 'string' && flat.otp) secrets.add(flat.otp);

  // Caching and retries are the client's business, never npm's defaults
  // (npm's `retry` waits 10 s before its first retry).
  delete flat.cache;
  delete flat.retry;
  delete flat.npxCache;
  delete flat.tufCache;
  if (flat.access === null) delete flat.access;
  if (flat.provenanceFile === null) delete flat.provenanceFile;
  // npm's own `provenance` (.npmrc, NPM_CONFIG_PROVENANCE) is read here; the client decides per upload (provenance.ts).
  const provenance = flat.provenance === true;
  flat.provenance = false;
  flat.preferOnline = true;
  flat.preferOffline = false;
  flat.offline = false;

  const hasCredentials = (reg: string): boolean => {
    const auth = npmFetch().getAuth(reg, { ...flat, registry: reg });
    return Boolean(auth.token || auth.auth || (auth.cert && auth.key));
  };

  const nodeAuthToken = sourceEnv.NODE_AUTH_TOKEN;
  let nodeAuthTokenUsedFor: string | undefined;
  if (nodeAuthToken && !hasCredentials(registry)) {
    flat[`${nerfDart(registry)}:_authToken`] = nodeAuthToken;
    nodeAuthTokenUsedFor = nerfDart(registry);
    secrets.add(nodeAuthToken);
  }

  const secretList = [...secrets].filter((s) => s.length > 0);
  redactText = createRedactor([...secretList, ...envSecrets]);

  const registryFor = (name: string): string => {
    const scope = scopeOf(name);
    return (scope && scopes[scope]) || registry;
  };

  const describeCredentials = (reg: string): string => {
    const dart = nerfDart(reg);
    if (nodeAuthTokenUsedFor === dart) return 'NODE_AUTH_TOKEN (no token configured for it in .npmrc)';
    const auth = npmFetch().getAuth(reg, { ...flat, registry: reg });
    if (auth.regKey && origins.has(auth.regKey)) return origins.get(auth.regKey)!;
    if (auth.token || auth.auth) return `credentials for ${auth.regKey || dart}`;
    const why = unresolved.get(dart);
    const where = files.length > 0 ? files.join(', ') : 'no .npmrc found';
    return `none configured for ${dart}${why ? ` (${why})` : ''}; looked in ${where}, NPM_CONFIG_* and NODE_AUTH_TOKEN`;
  };

  return {
    registry,
    scopes,
    options: flat,
    secrets: secretList,
    provenance,
    files,
    registryFor,
    hasCredentials,
    describeCredentials,
  };
}
