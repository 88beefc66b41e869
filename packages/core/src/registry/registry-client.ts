import { isLockstepError } from '../errors';
import { abortReason, throwIfAborted, unlessAborted } from '../util/abort';
import { sleep as realSleep } from '../util/sleep';
import { classifyRegistryError } from './classify';
import { integrityOf, sameIntegrity } from './integrity';
import { loadNpmConfig, normalizeRegistry } from './npm-config';
import { FetchOptions, libnpmpublish, npmFetch } from './npm-libs';
import { TrustedPublishing, createTrustedPublishing, usesTrustedPublishing } from './oidc';
import { attachProvenance, provenanceFailure } from './provenance';
import { putPublish } from './put-publish';
import { fetchOptionsOf } from './fetch-options';
import { createRedactor } from './redact';
import {
  RegistryErrorContext,
  RegistryOperation,
  integrityMismatchError,
  noUserError,
  packumentNotJsonError,
  publishedBeforeError,
  tagUnknownVersionError,
  toRegistryError,
  verifyTimeoutError,
  versionContentDiffersError,
  stageAnswerError,
} from './errors';
import { DEFAULT_RETRIES, withRetries } from './retry';
import type { PublishOutcome, PublishedVersion, RegistryClient, RegistryClientOptions, RegistryTransport } from './client-types';

export type { PublishOptions, PublishOutcome, PublishedVersion, RegistryClient, RegistryClientOptions, RegistryTransport, WaitOptions } from './client-types';

const isOtpDemand = (error: unknown) => {
  const failure = classifyRegistryError(error);
  return failure.kind === 'auth' && failure.code === 'EOTP';
};

/** `@scope/name` → `@scope%2fname`, as registries expect in paths. */
export function escapeName(name: string): string {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

/** A read that must see the registry as it is now: no HTTP cache, no offline copy. */
const FRESH_JSON_GET = {
  method: 'GET',
  preferOnline: true,
  preferOffline: false,
  offline: false,
  cache: undefined,
  headers: { accept: 'application/json', 'cache-control': 'no-cache' },
} as const;

/**
 * npm's libraries. A plain upload is the publish document PUT by
 * npm-registry-fetch (put-publish.ts: libnpmpublish's very document, without
 * loading it); provenance (signed or from a file) and staging are
 * libnpmpublish's own.
 */
const defaultTransport: RegistryTransport = {
  fetch: (uri, options) => npmFetch()(uri, options),
  publish: (manifest, tarball, options) =>
    options?.provenance || options?.provenanceFile || options?.stage ? libnpmpublish().publish(manifest, tarball, options) : putPublish(manifest, tarball, options ?? {}),
};

/**
 * A registry client for the publish pipeline, on npm's own libraries
 * (npm-registry-fetch, libnpmpublish) and npm's configuration:
 *  - every request is retried by withRetries only (npm's own retries are off,
 *    so attempts are counted once and no fixed 10 s wait happens);
 *  - reads bypass every cache (no cache dir, preferOnline, no-cache header);
 *  - an upload whose answer was lost is never repeated blindly: the registry
 *    is asked first whether the version landed;
 *  - a "previously published" answer is settled by comparing integrities;
 *  - every message and hint is redacted.
 */
export async function createRegistryClient(options: RegistryClientOptions): Promise<RegistryClient> {
  const config =
    options.config ?? (await loadNpmConfig({ cwd: options.cwd, env: options.env, registry: options.registry, npmPath: options.npmPath }));
  const transport = options.transport ?? defaultTransport;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const { signal } = options;
  /** A pause that ends at once (rejecting) when the client's signal aborts. */
  const pause = (ms: number) => unlessAborted(sleep(ms), signal);
  // Secrets known to the client; a per-publish OTP joins them when it is used.
  const secrets = new Set<string | undefined>([...config.secrets, options.otp]);
  let redactWith = createRedactor(secrets);
  const redact = (text: string) => redactWith(text);
  const addSecret = (secret: string | undefined) => {
    if (secret && !secrets.has(secret)) {
      secrets.add(secret);
      redactWith = createRedactor(secrets);
      options.onSecret?.(secret);
    }
  };
  const env = options.env ?? process.env;
  /** The code the run's prompt gave after an EOTP; later uploads of this client use it. */
  let promptedOtp: string | undefined;
  const authMode = options.auth ?? 'auto';
  const oidcFor = (registry: string) => usesTrustedPublishing(authMode, env, config.hasCredentials(registry));
  let trusted = options.trustedPublishing;
  const trustedPublishing = (): TrustedPublishing =>
    (trusted ??= createTrustedPublishing({
      env,
      signal,
      onSecret: addSecret,
      postExchange: async (url, idToken) => {
        const res = await transport.fetch(url, { ...baseFetchOptions, method: 'POST', forceAuth: { token: idToken }, headers: { accept: 'application/json' } });
        return res.json();
      },
    }));

  const baseFetchOptions: FetchOptions = {
    ...fetchOptionsOf(config.options),
    // npm-registry-fetch passes `retry` to make-fetch-happen as is: no retries there.
    retry: { retries: 0 },
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...(options.otp === undefined ? {} : { otp: options.otp }),
    // npm-registry-fetch hands it to the request: an abort cancels the socket, uploads included.
    ...(signal === undefined ? {} : { signal }),
  };

  const retryOptions = (operation: RegistryOperation, name: string, wait: (ms: number) => Promise<void> = sleep) => ({
    retries,
    baseMs: options.baseMs,
    capMs: options.capMs,
    sleep: wait,
    random: options.random,
    name,
    operation,
    onRetry: options.onRetry,
    signal,
  });

  const errorContext = (operation: RegistryOperation, name: string, attempts: number, extra: { version?: string; tag?: string; registry?: string } = {}): RegistryErrorContext => {
    const registry = extra.registry ?? config.registryFor(name);
    return {
      operation,
      name,
      registry,
      attempts,
      credentials: config.describeCredentials(registry),
      redact,
      ...extra,
    };
  };

  /** Runs a retried request; failures become LockstepErrors with the attempt count. */
  async function retried<T>(
    operation: RegistryOperation,
    name: string,
    extra: { version?: string; tag?: string; registry?: string },
    fn: (attempt: number) => Promise<T>,
    wait?: (ms: number) => Promise<void>,
  ): Promise<T> {
    let attempts = 0;
    try {
      return await withRetries((attempt) => {
        attempts = attempt + 1;
        return fn(attempt);
      }, retryOptions(operation, name, wait));
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      throw toRegistryError(error, errorContext(operation, name, attempts, extra));
    }
  }

  /** One GET of the packument, no retries; undefined on 404. */
  async function fetchPackument(name: string): Promise<Record<string, unknown> | undefined> {
    const registry = config.registryFor(name);
    try {
      const res = await transport.fetch(`${registry}${escapeName(name)}`, { ...baseFetchOptions, ...FRESH_JSON_GET, registry });
      const doc = await res.json();
      if (!doc || typeof doc !== 'object') {
        throw packumentNotJsonError(registry, name, redact);
      }
      return doc as Record<string, unknown>;
    } catch (error) {
      if (!isLockstepError(error) && classifyRegistryError(error).kind === 'not-found') return undefined;
      throw error;
    }
  }

  async function fetchVersion(name: string, version: string): Promise<PublishedVersion | undefined> {
    const doc = await fetchPackument(name);
    if (!doc) return undefined;
    const versions = (doc.versions ?? {}) as Record<string, { dist?: { integrity?: string; shasum?: string; tarball?: string } }>;
    const entry = versions[version];
    if (!entry) return undefined;
    const dist = entry.dist ?? {};
    const integrity = dist.integrity ?? (dist.shasum ? `sha1-${Buffer.from(dist.shasum, 'hex').toString('base64')}` : '');
    const distTags = (doc['dist-tags'] ?? {}) as Record<string, string>;
    return { integrity, tarball: dist.tarball ?? '', distTags: { ...distTags } };
  }

  const versionExistsError = (name: string, version: string, registry: string, remote: string, local: string) =>
    versionContentDiffersError({ name, version, registry }, remote, local, redact);

  const client: RegistryClient = {
    config,

    registryFor: (name) => config.registryFor(name),

    getPublished(name, version) {
      return retried('read', name, { version }, () => fetchVersion(name, version));
    },

    async publish(manifest, tarball, publishOptions = {}) {
      const { name, version } = manifest;
      addSecret(publishOptions.otp);
      const registry = config.registryFor(name);
      const local = integrityOf(tarball);
      if (publishOptions.integrity && !sameIntegrity(publishOptions.integrity, local)) {
        throw integrityMismatchError(name, version);
      }
      const expected = publishOptions.integrity ?? local;

      /** The version is on the registry: same bytes → done, other bytes → EVERSIONEXISTS. */
      const settle = (seen: PublishedVersion, ours: boolean): PublishOutcome => {
        if (sameIntegrity(seen.integrity, expected)) return ours ? 'published' : 'already-published';
        throw versionExistsError(name, version, registry, seen.integrity, expected);
      };

      /**
       * The registry said "previously published": find out what it has. It
       * may not serve the version yet (Verdaccio stores the tarball before
       * the version; npmjs propagates), so look a few times.
       */
      const settleConflict = async (mayBeOurs: boolean, conflict: unknown): Promise<PublishOutcome> => {
        for (let look = 0; look <= retries; look++) {
          const seen = await fetchVersion(name, version);
          if (seen) return settle(seen, mayBeOurs);
          if (look < retries) await pause(Math.min(5000, 250 * 2 ** look));
        }
        const said = redact(classifyRegistryError(conflict).detail);
        throw publishedBeforeError({ name, version, registry }, said, redact);
      };

      // Before the first upload (unless told otherwise), and before any
      // upload after one whose answer was lost: is the version there?
      let lookFirst = publishOptions.precheck !== false;
      let mayHaveLanded = false;
      const { slot } = publishOptions;
      // Between attempts the caller's slot is free for others; the next attempt takes it again.
      const waitOutsideSlot = slot
        ? async (ms: number) => {
            slot.release();
            try {
              await sleep(ms);
            } finally {
              await slot.acquire();
            }
          }
        : undefined;
      return retried('publish', name, { version }, async () => {
        if (lookFirst) {
          const seen = await fetchVersion(name, version);
          if (seen) return settle(seen, mayHaveLanded);
          lookFirst = false;
        }
        // Trusted publishing: a token for this package, exchanged just before this upload, held nowhere else.
        const exchanged = oidcFor(registry) ? await trustedPublishing().exchange(name, registry) : undefined;
        const provenance = await attachProvenance({
          option: options.provenance,
          file: options.provenanceFile,
          config,
          env,
          exchanged,
          visibility: (path) => transport.fetch(`${registry}${path.slice(1)}`, { ...baseFetchOptions, ...FRESH_JSON_GET, registry }).then((res) => res.json()),
          name,
        });
        // libnpmpublish (provenance) gets npm's whole options, as npm gives them; a plain upload only what a request reads.
        const viaLibnpmpublish = provenance.provenance || 'provenanceFile' in provenance;
        const upload = (otp: string | undefined) =>
          transport.publish(manifest, tarball, {
            ...(viaLibnpmpublish ? { ...config.options, ...baseFetchOptions } : baseFetchOptions),
            defaultTag: publishOptions.tag ?? 'latest',
            ...(publishOptions.access === undefined ? {} : { access: publishOptions.access }),
            ...(otp === undefined ? {} : { otp }),
            ...(exchanged ? { forceAuth: { token: exchanged.token } } : {}),
            ...provenance,
          });
        try {
          const otp = promptedOtp ?? publishOptions.otp;
          try {
            await upload(otp);
          } catch (error) {
            // EOTP: the run's one prompt (in a terminal) gives a code; this upload is retried with it once.
            const code = isOtpDemand(error) && options.askOtp ? await options.askOtp() : undefined;
            if (code === undefined || code === otp) throw error;
            addSecret(code);
            promptedOtp = code;
            await upload(code);
          }
          return 'published';
        } catch (error) {
          const refused = provenanceFailure(error, provenance, name, version, redact);
          if (refused) throw refused;
          const failure = classifyRegistryError(error);
          if (failure.kind === 'conflict') return settleConflict(mayHaveLanded, error);
          if (failure.kind === 'transient' && failure.ambiguous) {
            // The upload may have been stored although we saw a failure.
            mayHaveLanded = true;
            lookFirst = true;
          }
          throw error;
        }
      }, waitOutsideSlot);
    },

    async ensureDistTag(name, version, tag) {
      const seen = await client.getPublished(name, version);
      if (!seen) {
        throw tagUnknownVersionError({ name, version, tag, registry: config.registryFor(name) }, redact);
      }
      if (seen.distTags[tag] === version) return false;
      const registry = config.registryFor(name);
      await retried('dist-tag', name, { version, tag }, async () => {
        const res = await transport.fetch(`${registry}-/package/${escapeName(name)}/dist-tags/${encodeURIComponent(tag)}`, {
          ...baseFetchOptions,
          registry,
          method: 'PUT',
          body: JSON.stringify(version),
          headers: { 'content-type': 'application/json' },
        });
        // Drain the answer so the socket is reused.
        await res.text().catch(() => '');
      });
      return true;
    },

    async whoami(registryUrl) {
      const registry = registryUrl === undefined ? config.registry : normalizeRegistry(registryUrl);
      const answer = await retried('whoami', '/-/whoami', { registry }, async () => {
        try {
          const res = await transport.fetch(`${registry}-/whoami`, { ...baseFetchOptions, ...FRESH_JSON_GET, registry });
          return { doc: (await res.json()) as unknown };
        } catch (error) {
          const failure = classifyRegistryError(error);
          if (failure.kind === 'not-found' || failure.status === 405 || failure.status === 501) return undefined;
          throw error;
        }
      });
      if (answer === undefined) return undefined;
      const doc = answer.doc as { username?: unknown } | null;
      const username = doc && typeof doc === 'object' && typeof doc.username === 'string' && doc.username !== '' ? doc.username : undefined;
      if (username === undefined) {
        throw noUserError(registry, config.describeCredentials(registry), redact);
      }
      return username;
    },

    usesTrustedPublishing: (registry) => oidcFor(normalizeRegistry(registry)),

    async checkTrustedPublishing(registryUrl) {
      const tp = trustedPublishing();
      await tp.identity(normalizeRegistry(registryUrl));
      return tp.provider;
    },

    async stage(manifest, tarball, stageOptions = {}) {
      const { name, version } = manifest;
      const registry = config.registryFor(name);
      return retried('publish', name, { version }, async () => {
        const exchanged = oidcFor(registry) ? await trustedPublishing().exchange(name, registry) : undefined;
        const res = (await transport.publish(manifest, tarball, {
          ...config.options,
          ...baseFetchOptions,
          defaultTag: stageOptions.tag ?? 'latest',
          ...(stageOptions.access === undefined ? {} : { access: stageOptions.access }),
          ...(exchanged ? { forceAuth: { token: exchanged.token } } : {}),
          provenance: false,
          stage: true,
        })) as { stageId?: unknown };
        if (typeof res?.stageId !== 'string' || res.stageId === '') throw stageAnswerError(registry, name, version, redact);
        return res.stageId;
      });
    },

    async approveStage(name, stageId, otp) {
      const registry = config.registryFor(name);
      return retried('publish', name, {}, async () => {
        try {
          const res = await transport.fetch(`${registry}-/stage/${encodeURIComponent(stageId)}/approve`, { ...baseFetchOptions, registry, method: 'POST', ...(otp ? { otp } : {}) });
          await res.text().catch(() => '');
          return 'approved' as const;
        } catch (error) {
          if (classifyRegistryError(error).kind === 'not-found') return 'gone' as const;
          throw error;
        }
      });
    },

    async rejectStage(name, stageId, otp) {
      const registry = config.registryFor(name);
      return retried('publish', name, {}, async () => {
        try {
          const res = await transport.fetch(`${registry}-/stage/${encodeURIComponent(stageId)}`, { ...baseFetchOptions, registry, method: 'DELETE', ...(otp ? { otp } : {}) });
          await res.text().catch(() => '');
          return 'rejected' as const;
        } catch (error) {
          if (classifyRegistryError(error).kind === 'not-found') return 'gone' as const;
          throw error;
        }
      });
    },

    listVersions(name) {
      return retried('read', name, {}, async () => Object.keys(((await fetchPackument(name))?.versions ?? {}) as Record<string, unknown>));
    },

    async waitUntilVisible(name, version, integrity, waitOptions) {
      const registry = config.registryFor(name);
      const deadline = now() + waitOptions.timeoutMs;
      const maxInterval = waitOptions.maxIntervalMs ?? 5000;
      let interval = waitOptions.intervalMs ?? 250;
      let last = 'not served yet';
      for (;;) {
        throwIfAborted(signal);
        try {
          // Transient read failures get the usual short jittered retries;
          // the growing interval below is for "not served yet".
          const seen = await withRetries(() => fetchVersion(name, version), retryOptions('read', name));
          if (seen) {
            if (sameIntegrity(seen.integrity, integrity)) return;
            throw versionExistsError(name, version, registry, seen.integrity, integrity);
          }
          last = 'not served yet';
        } catch (error) {
          if (signal?.aborted) throw abortReason(signal);
          if (isLockstepError(error)) throw error;
          const failure = classifyRegistryError(error);
          if (failure.kind !== 'transient') throw toRegistryError(error, errorContext('read', name, 1, { version }));
          last = `the last read failed: ${failure.reason}`;
        }
        const left = deadline - now();
        if (left <= 0) {
          throw verifyTimeoutError({ name, version, registry, integrity }, waitOptions.timeoutMs, last, redact);
        }
        await pause(Math.min(interval, left));
        interval = Math.min(maxInterval, Math.ceil(interval * 1.5));
      }
    },
  };
  return client;
}

