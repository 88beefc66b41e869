/**
 * What the registry client promises (its options and its methods), apart
 * from how registry-client.ts keeps those promises.
 */
import type { LoadNpmConfigOptions, NpmConfig } from './npm-config';
import type { FetchOptions, FetchResponse } from './npm-libs';
import type { AuthMode, TrustedPublishing } from './oidc';
import type { RetryInfo } from './retry';

export interface PublishedVersion {
  /** `dist.integrity` (or `sha1-…` from `dist.shasum` on registries without it). */
  integrity: string;
  /** `dist.tarball`. */
  tarball: string;
  /** The package's dist-tags. */
  distTags: Record<string, string>;
}

export type PublishOutcome = 'published' | 'already-published';

export interface PublishOptions {
  /** The dist-tag the version gets (npm's `--tag`); default 'latest'. */
  tag?: string;
  /** 'public' | 'restricted'; default: the npm config's (npm's default for the registry). */
  access?: string;
  otp?: string;
  /** sha512 integrity of `tarball` (computed when omitted; checked when given). */
  integrity?: string;
  /**
   * Look at the registry before uploading (default true), so a version that
   * is there already is never uploaded again. Pass false only right after
   * your own getPublished said it is not there.
   */
  precheck?: boolean;
  /**
   * The caller's concurrency slot (schedule/run-scheduled's Slot): given back
   * while the upload waits between attempts (a Retry-After, a backoff) and
   * taken again before the next attempt, so a wait never holds a slot.
   */
  slot?: { release(): void; acquire(): Promise<void> };
}

export interface WaitOptions {
  timeoutMs: number;
  /** First poll interval; grows ×1.5 up to maxIntervalMs. Default 250. */
  intervalMs?: number;
  maxIntervalMs?: number;
}

/** The two calls the client makes; injectable so unit tests can fake the registry. */
export interface RegistryTransport {
  fetch(uri: string, options: FetchOptions): Promise<FetchResponse>;
  publish(manifest: Record<string, unknown>, tarball: Buffer, options: FetchOptions): Promise<unknown>;
}

export interface RegistryClientOptions extends Omit<LoadNpmConfigOptions, 'cwd'> {
  cwd: string;
  /** Retries of transient failures per request (default 3). */
  retries?: number;
  /** Per-request network timeout (default npm's fetch-timeout, 5 min). */
  timeoutMs?: number;
  otp?: string;
  /** Backoff: full jitter over min(capMs, baseMs · 2^n). */
  baseMs?: number;
  capMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  onRetry?: (info: RetryInfo) => void;
  /** An already loaded npm config (otherwise loaded from cwd/env/registry). */
  config?: NpmConfig;
  transport?: RegistryTransport;
  /**
   * Stops every request of this client at once when it aborts: the request in
   * flight (an upload too) is cancelled, retries and waits end, and the call
   * rejects with the signal's reason (abortReason). An upload cut off this way
   * may or may not have landed: the next publish asks the registry first.
   */
  signal?: AbortSignal;
  /**
   * How uploads authenticate (oidc.ts): `auto` (default) uses trusted
   * publishing in GitHub Actions, GitLab CI and CircleCI when no token is
   * configured for the package's registry; `oidc` always; `token` never.
   */
  auth?: AuthMode;
  /** Publish with a provenance attestation (npm's `provenance`); default: npm's config, else on with trusted publishing as npm decides. */
  provenance?: boolean;
  /** A prepared sigstore bundle attached as the provenance (npm's `provenanceFile`). */
  provenanceFile?: string;
  /** Every secret the client learns on the way (identity and exchanged tokens), for the caller's redactor. */
  onSecret?: (secret: string) => void;
  /**
   * Asked when the registry answers an upload with EOTP (otp-prompt.ts: the
   * run's one terminal prompt); the upload is retried once with the code, and
   * the client's later uploads use it. Undefined answer: the EOTP stands.
   */
  askOtp?: () => Promise<string | undefined>;
  /** The trusted publishing of this environment (default: from `env`). */
  trustedPublishing?: TrustedPublishing;
}

export interface RegistryClient {
  readonly config: NpmConfig;
  /** The registry a package publishes to (its scope's registry or the default), with a trailing slash. */
  registryFor(name: string): string;
  /** The version as the registry serves it right now (no cache anywhere), or undefined. */
  getPublished(name: string, version: string): Promise<PublishedVersion | undefined>;
  /**
   * Uploads the version once. 'already-published' when the registry has it
   * with the same integrity; EVERSIONEXISTS when it has other bytes.
   */
  publish(manifest: Record<string, unknown> & { name: string; version: string }, tarball: Buffer, options?: PublishOptions): Promise<PublishOutcome>;
  /** Points `tag` at `version`; true if it had to move it. */
  ensureDistTag(name: string, version: string, tag: string): Promise<boolean>;
  /** Resolves once the version is served with `integrity`; EVERIFYTIMEOUT / EVERSIONEXISTS otherwise. */
  waitUntilVisible(name: string, version: string, integrity: string, options: WaitOptions): Promise<void>;
  /**
   * Who the configured credentials belong to at `registry` (default: the
   * default registry): `GET /-/whoami` with the credentials npm would send,
   * retried like any read. EAUTH when the registry refuses them (401/403) or
   * knows no user behind them (none configured, an unknown token: what
   * `npm whoami` calls ENEEDAUTH); EREGISTRY when it stays unreachable;
   * undefined when the registry has no /-/whoami (404, 405, 501).
   */
  whoami(registry?: string): Promise<string | undefined>;
  /** Every version of `name` the registry serves right now ([] when it has none). */
  listVersions(name: string): Promise<string[]>;
  /** Whether uploads to `registry` use trusted publishing (a token exchanged per package) rather than configured credentials. */
  usesTrustedPublishing(registry: string): boolean;
  /**
   * Before the first upload (G6), instead of whoami: the CI job gives an
   * identity token for `registry` (EOIDC otherwise). Returns the provider.
   * Nothing is exchanged: each package's token is fetched just before its upload.
   */
  checkTrustedPublishing(registry: string): Promise<string>;
  /**
   * Stages the version instead of publishing it (npm's staged publishing:
   * `POST /-/stage/package/<name>` with the publish document, through
   * libnpmpublish's `stage`); returns the stage id. Nothing goes public.
   */
  stage(manifest: Record<string, unknown> & { name: string; version: string }, tarball: Buffer, options?: { tag?: string; access?: string }): Promise<string>;
  /** `POST /-/stage/<id>/approve` with the OTP: the staged version goes live. 'gone' when the registry has no such stage (404). */
  approveStage(name: string, stageId: string, otp?: string): Promise<'approved' | 'gone'>;
  /** `DELETE /-/stage/<id>`: withdraws the staged version. 'gone' when the registry has no such stage. */
  rejectStage(name: string, stageId: string, otp?: string): Promise<'rejected' | 'gone'>;
}
