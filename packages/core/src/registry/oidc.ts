import { LockstepError } from '../errors';
import { escapeName } from './registry-client';
import { oidcExchangeError, oidcNoIdentityError, oidcOutsideCiError } from './errors';

/**
 * Trusted publishing, as npm does it (npm 11.5.1+, `lib/utils/oidc.js`):
 * in GitHub Actions, GitLab CI and CircleCI (detected as ci-info does), the
 * job's OIDC identity token (`NPM_ID_TOKEN`, or on GitHub Actions requested
 * from `ACTIONS_ID_TOKEN_REQUEST_URL` with `ACTIONS_ID_TOKEN_REQUEST_TOKEN`
 * for the audience `npm:<registry host>`) is exchanged with
 * `POST /-/npm/v1/oidc/token/exchange/package/<escaped name>` for a
 * short-lived token that may publish that one package.
 *
 * The exchanged token lives only in memory, for the one upload it was
 * fetched for; every token seen is handed to `onSecret` so it is redacted.
 */
export type CiProvider = 'GitHub Actions' | 'GitLab CI' | 'CircleCI';

/** `auto`: trusted publishing in a supported CI when no token is configured for the registry; `token`: never; `oidc`: always. */
export type AuthMode = 'auto' | 'token' | 'oidc';

export const AUTH_MODES: readonly AuthMode[] = ['auto', 'token', 'oidc'];

/** The CI provider npm supports trusted publishing in, from the environment ci-info reads. */
export function detectOidcProvider(env: NodeJS.ProcessEnv): CiProvider | undefined {
  if (env.GITHUB_ACTIONS) return 'GitHub Actions';
  if (env.GITLAB_CI) return 'GitLab CI';
  if (env.CIRCLECI) return 'CircleCI';
  return undefined;
}

/** What an HTTP call of the exchange answers (npm-registry-fetch's response, or fetch's). */
export interface OidcResponse {
  status: number;
  json(): Promise<unknown>;
}

export interface TrustedPublishingOptions {
  env: NodeJS.ProcessEnv;
  /** GET of the CI's identity endpoint (GitHub Actions); global fetch by default. */
  requestIdentity?: (url: string, headers: Record<string, string>, signal?: AbortSignal) => Promise<OidcResponse>;
  /** POST of the exchange on the registry, sending `idToken` as the bearer token; throws npm-registry-fetch's HTTP errors. */
  postExchange: (url: string, idToken: string) => Promise<unknown>;
  /** Every identity token and exchanged token, for the redactor. */
  onSecret: (secret: string) => void;
  signal?: AbortSignal;
}

/** The claims of an identity token that say which trusted publisher npm would look for (no secret among them). */
export interface IdentityClaims {
  repository?: string;
  workflow?: string;
  environment?: string;
  /** `public` when the repository (project) is public: npm turns provenance on then. */
  visibility?: string;
}

export interface TrustedPublishing {
  readonly provider: CiProvider;
  /** The job's identity token for `registry`'s audience; EOIDC when the CI gives none. */
  identity(registry: string): Promise<{ token: string; claims: IdentityClaims }>;
  /** A token for publishing `name` to `registry`, exchanged now; EOIDC when the registry refuses. */
  exchange(name: string, registry: string): Promise<{ token: string; claims: IdentityClaims }>;
}

/** Whether `registry`'s uploads use trusted publishing in this environment, given the configured credentials. */
export function usesTrustedPublishing(mode: AuthMode, env: NodeJS.ProcessEnv, hasToken: boolean): boolean {
  if (mode === 'token') return false;
  if (mode === 'oidc') return true;
  return detectOidcProvider(env) !== undefined && !hasToken;
}

/** The claims of a JWT's payload; {} when it is not one. */
export function identityClaims(idToken: string): IdentityClaims {
  const payload = idToken.split('.')[1];
  if (!payload) return {};
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  // GitHub: repository, workflow_ref (owner/repo/.github/workflows/x.yml@ref), environment, repository_visibility;
  // GitLab: project_path, ci_config_ref_uri, environment, project_visibility.
  const workflowRef = text(doc.workflow_ref) ?? text(doc.ci_config_ref_uri);
  const workflow = workflowRef?.split('@')[0].split('/').pop();
  return {
    repository: text(doc.repository) ?? text(doc.project_path),
    workflow,
    environment: text(doc.environment),
    visibility: text(doc.repository_visibility) ?? text(doc.project_visibility),
  };
}

const defaultRequestIdentity = async (url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<OidcResponse> => fetch(url, { headers, signal });

/** Trusted publishing for this environment: a CI provider must be detected (otherwise EOIDC when asked for). */
export function createTrustedPublishing(options: TrustedPublishingOptions): TrustedPublishing {
  const { env } = options;
  const provider = detectOidcProvider(env);
  const requestIdentity = options.requestIdentity ?? defaultRequestIdentity;
  if (env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) options.onSecret(env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
  if (env.NPM_ID_TOKEN) options.onSecret(env.NPM_ID_TOKEN);

  async function identity(registry: string): Promise<{ token: string; claims: IdentityClaims }> {
    if (!provider) throw oidcOutsideCiError(registry);
    let token = env.NPM_ID_TOKEN;
    if (!token && provider === 'GitHub Actions') {
      const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
      const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
      if (!url || !bearer) throw oidcNoIdentityError(provider, registry, 'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set');
      const request = new URL(url);
      request.searchParams.append('audience', `npm:${new URL(registry).hostname}`);
      let answer: OidcResponse;
      let body: unknown;
      try {
        answer = await requestIdentity(request.href, { accept: 'application/json', authorization: `Bearer ${bearer}` }, options.signal);
        body = await answer.json().catch(() => undefined);
      } catch (error) {
        throw oidcNoIdentityError(provider, registry, `the request to the identity endpoint failed (${(error as Error).message})`);
      }
      const value = (body as { value?: unknown } | undefined)?.value;
      if (answer.status < 200 || answer.status >= 300 || typeof value !== 'string' || value === '') {
        throw oidcNoIdentityError(provider, registry, `the identity endpoint answered ${answer.status}${typeof value === 'string' ? '' : ' without a token'}`);
      }
      token = value;
    }
    if (!token) throw oidcNoIdentityError(provider, registry, 'NPM_ID_TOKEN is not set');
    options.onSecret(token);
    return { token, claims: identityClaims(token) };
  }

  return {
    get provider() {
      if (!provider) throw oidcOutsideCiError('the registry');
      return provider;
    },
    identity,
    async exchange(name, registry) {
      const id = await identity(registry);
      // npm resolves the route against the registry's origin (`new URL('/-/npm/…', registry)`).
      const url = new URL(`/-/npm/v1/oidc/token/exchange/package/${escapeName(name)}`, registry).href;
      let answer: unknown;
      try {
        answer = await options.postExchange(url, id.token);
      } catch (error) {
        if (isHttpRefusal(error)) throw oidcExchangeError(provider!, name, registry, id.claims, refusalDetail(error));
        throw error;
      }
      const token = (answer as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string' || token === '') throw oidcExchangeError(provider!, name, registry, id.claims, 'the answer carried no token');
      options.onSecret(token);
      return { token, claims: id.claims };
    },
  };
}

/** 4xx answers of the exchange (no trusted publisher, a refused identity) are final; 429, 5xx and network failures are retried by the caller. */
function isHttpRefusal(error: unknown): boolean {
  if (error instanceof LockstepError) return false;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function refusalDetail(error: unknown): string {
  const e = error as { statusCode?: number; body?: { message?: unknown; error?: unknown } };
  const said = typeof e.body?.message === 'string' ? e.body.message : typeof e.body?.error === 'string' ? e.body.error : undefined;
  return `HTTP ${e.statusCode}${said ? `: ${said}` : ''}`;
}
