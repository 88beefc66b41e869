import { ErrorCodes, LockstepError, isLockstepError } from '../errors';
import { classifyRegistryError, errorCodeFor } from './classify';
import type { CiProvider, IdentityClaims } from './oidc';

export type RegistryOperation = 'publish' | 'read' | 'dist-tag' | 'whoami';

export interface RegistryErrorContext {
  operation: RegistryOperation;
  name: string;
  version?: string;
  tag?: string;
  registry: string;
  /** How many attempts were made (1 when nothing was retried). */
  attempts: number;
  /** Where the credentials for `registry` come from (npm-config's describeCredentials). */
  credentials: string;
  redact: (text: string) => string;
}

const WHAT: Record<RegistryOperation, string> = {
  publish: 'publishing',
  read: 'reading',
  'dist-tag': 'setting a dist-tag of',
  whoami: 'checking the credentials at',
};

/** An Error that keeps the code and status of the original, with a redacted message and no headers or body. */
function sanitizedCause(error: unknown, redact: (text: string) => string): Error {
  if (!(error instanceof Error) && (typeof error !== 'object' || error === null)) return new Error(redact(String(error)));
  const e = error as { message?: unknown; code?: unknown; statusCode?: unknown; name?: unknown };
  const cause = new Error(redact(typeof e.message === 'string' ? e.message : String(error)));
  if (typeof e.name === 'string') cause.name = e.name;
  if (e.code !== undefined) (cause as Error & { code?: unknown }).code = e.code;
  if (e.statusCode !== undefined) (cause as Error & { statusCode?: unknown }).statusCode = e.statusCode;
  cause.stack = `${cause.name}: ${cause.message}`;
  return cause;
}

/**
 * Turns whatever a registry request threw into a LockstepError with a stable
 * code and a hint; message, hint and cause are redacted (G5).
 */
export function toRegistryError(error: unknown, ctx: RegistryErrorContext): LockstepError {
  if (isLockstepError(error)) return error;
  const failure = classifyRegistryError(error);
  const spec = ctx.version ? `${ctx.name}@${ctx.version}` : ctx.name;
  const detail = failure.detail ? `: ${failure.detail}` : '';
  const where = `${ctx.registry}`;
  let code = errorCodeFor(failure.kind);
  let message: string;
  let hint: string;

  switch (failure.kind) {
    case 'auth':
      if (failure.code === 'EOTP') {
        message = `${where} wants a one-time password for ${WHAT[ctx.operation]} ${spec}${detail}`;
        hint = 'Pass the current code as `otp` (or use an automation/granular token that bypasses 2FA for publishing).';
      } else {
        message = `${where} refused the credentials for ${WHAT[ctx.operation]} ${spec} (${failure.reason})${detail}`;
        hint =
          `Check the token for this registry: ${ctx.credentials}. ` +
          (failure.status === 403
            ? 'It was accepted but may not publish this package (scope, team or package permissions).'
            : 'Put a valid token under `//<registry host>/:_authToken` in .npmrc (for example ${NPM_TOKEN}), or export NODE_AUTH_TOKEN.');
      }
      break;
    case 'bad-manifest':
      message = `${where} refused the manifest of ${spec} (${failure.reason})${detail}`;
      hint = `Fix package.json of ${ctx.name}: the registry (or npm's publish rules) rejected it.`;
      break;
    case 'conflict':
      code = ErrorCodes.EVERSIONEXISTS;
      message = `${spec} already exists on ${where}${detail}`;
      hint = 'Bump the version: a published version can never be replaced.';
      break;
    case 'transient':
      code = ErrorCodes.EREGISTRY;
      message = `${where} kept failing while ${WHAT[ctx.operation]} ${spec}: ${failure.reason} after ${ctx.attempts} attempt${ctx.attempts === 1 ? '' : 's'}${detail}`;
      hint =
        'The registry is unavailable or rate-limiting. Re-run later (what is published is skipped), or raise `retries`.';
      break;
    case 'not-found':
      message = `${where} answered 404 while ${WHAT[ctx.operation]} ${spec}${detail}`;
      hint =
        ctx.operation === 'read'
          ? 'Check the registry URL (registry= / @scope:registry= in .npmrc).'
          : `Check the registry URL, and that the token (${ctx.credentials}) may publish to this scope; npmjs answers 404 when it may not.`;
      break;
    default:
      message = `${where} failed while ${WHAT[ctx.operation]} ${spec} (${failure.reason})${detail}`;
      hint =
        failure.status === 402
          ? 'Scoped packages are private by default on npmjs: set `access: public` for public packages.'
          : 'See the registry message above; re-run once it is fixed (what is published is skipped).';
  }
  return new LockstepError(code, ctx.redact(message), { hint: ctx.redact(hint), cause: sanitizedCause(error, ctx.redact) });
}

// ------------------------------------------------ what the client finds itself
// Every factory takes the client's `redact`: messages name registry URLs and
// credentials' origins, so they are redacted before they exist (G5).

type Redact = (text: string) => string;

/** EREGISTRY: a packument that is not a JSON object. */
export function packumentNotJsonError(registry: string, name: string, redact: Redact): LockstepError {
  return new LockstepError(ErrorCodes.EREGISTRY, redact(`${registry} answered a packument for ${name} that is not JSON`), {
    hint: 'Check the registry URL: it does not look like an npm registry.',
  });
}

/** EVERSIONEXISTS: the registry serves the version with another integrity than the local tarball's. */
export function versionContentDiffersError(spec: { name: string; version: string; registry: string }, remote: string, local: string, redact: Redact): LockstepError {
  return new LockstepError(ErrorCodes.EVERSIONEXISTS, redact(`${spec.name}@${spec.version} is already on ${spec.registry} with different content`), {
    hint: redact(`Bump the version of ${spec.name}: the registry has ${remote || '(no integrity)'} and the local tarball is ${local}.`),
  });
}

/** EVERSIONEXISTS: the registry refuses the version as published before but does not serve it (unpublished versions are never reusable). */
export function publishedBeforeError(spec: { name: string; version: string; registry: string }, said: string, redact: Redact): LockstepError {
  return new LockstepError(ErrorCodes.EVERSIONEXISTS, redact(`${spec.registry} refuses ${spec.name}@${spec.version} as published before, but does not serve it: ${said}`), {
    hint: `Bump the version of ${spec.name}: a version that was published (even if unpublished since) can never be reused.`,
    cause: new Error(said),
  });
}

/** EINTERNAL: the integrity a caller gives for a tarball is not the tarball's. */
export function integrityMismatchError(name: string, version: string): LockstepError {
  return new LockstepError(ErrorCodes.EINTERNAL, `The integrity given for ${name}@${version} does not match its tarball`, {
    hint: 'This is a bug in lockstep: the tarball changed after it was packed. Please report it.',
  });
}

/** EREGISTRY: a dist-tag asked for a version the registry does not serve. */
export function tagUnknownVersionError(spec: { name: string; version: string; tag: string; registry: string }, redact: Redact): LockstepError {
  return new LockstepError(ErrorCodes.EREGISTRY, redact(`Cannot tag ${spec.name}@${spec.version} as '${spec.tag}': ${spec.registry} does not serve that version`), {
    hint: 'Publish the version first (or wait until it is visible).',
  });
}

/** EAUTH: GET /-/whoami answered without a username. */
export function noUserError(registry: string, credentials: string, redact: Redact): LockstepError {
  return new LockstepError(ErrorCodes.EAUTH, redact(`${registry} knows no user for the configured credentials (GET /-/whoami answered without a username): it would refuse the uploads`), {
    hint: redact(
      `Check the token for this registry: ${credentials}. Put a valid token under \`//<registry host>/:_authToken\` in .npmrc (for example \${NPM_TOKEN}), or export NODE_AUTH_TOKEN.`,
    ),
  });
}

/** EVERIFYTIMEOUT: the version did not become visible with the expected integrity in time. */
export function verifyTimeoutError(spec: { name: string; version: string; registry: string; integrity: string }, timeoutMs: number, last: string, redact: Redact): LockstepError {
  return new LockstepError(
    ErrorCodes.EVERIFYTIMEOUT,
    redact(`${spec.name}@${spec.version} was not visible on ${spec.registry} with integrity ${spec.integrity} after ${timeoutMs} ms (${last})`),
    { hint: 'The registry may be slow to propagate: raise `verifyTimeoutMs`, or re-run (published packages are skipped).' },
  );
}

// ----------------------------------------------------------- npm configuration

function npmConfigError(message: string, hint: string, cause: unknown, redact: Redact): LockstepError {
  return new LockstepError(ErrorCodes.ECONFIG, redact(message), { hint: redact(hint), cause });
}

/** ECONFIG: @npmcli/config could not load the configuration at all. */
export function npmConfigLoadError(error: unknown, redact: Redact): LockstepError {
  return npmConfigError(
    `Could not load the npm configuration: ${(error as Error)?.message ?? error}`,
    'Check the .npmrc files (project, ~/.npmrc or NPM_CONFIG_USERCONFIG, global) and the NPM_CONFIG_* variables.',
    error,
    redact,
  );
}

/** ECONFIG: one npm config file exists but cannot be read. */
export function npmConfigFileError(where: string, source: string, loadError: { code?: string; message: string }, redact: Redact): LockstepError {
  return npmConfigError(
    `Could not read the ${where} npm config ${source}: ${loadError.code ?? loadError.message}`,
    `Make ${source} readable (or point NPM_CONFIG_USERCONFIG elsewhere).`,
    loadError,
    redact,
  );
}

/** ECONFIG: the registry (the option, or registry= in `origin`) is not a URL. */
export function npmConfigRegistryUrlError(bad: string, origin: { option: true } | { file: string }, error: unknown, redact: Redact): LockstepError {
  return npmConfigError(`The registry '${bad}' is not a valid URL.`, 'option' in origin ? 'Fix the `registry` option.' : `Fix registry= in ${origin.file}.`, error, redact);
}

/** ECONFIG: a scope's registry (`@scope:registry=` in `origin`) is not a URL. */
export function npmConfigScopeUrlError(key: string, value: string, origin: string, error: unknown, redact: Redact): LockstepError {
  return npmConfigError(`${key} '${value}' is not a valid URL.`, `Fix ${key}= in ${origin}.`, error, redact);
}

// Trusted publishing (EOIDC) and provenance (EPROVENANCE). No message carries a token: identity and
// exchanged tokens are never passed in, only the claims that name the trusted publisher npm looks for.

const PROVIDERS = 'GitHub Actions, GitLab CI or CircleCI';

/** `auth: "oidc"` outside a CI provider npm supports. */
export function oidcOutsideCiError(registry: string): LockstepError {
  return new LockstepError(ErrorCodes.EOIDC, `Trusted publishing to ${registry} needs a CI job's identity, and this is not ${PROVIDERS}`, {
    hint: 'Run the release in a CI job of one of those providers, or configure a token for the registry and set auth to "auto" or "token".',
  });
}

/** The CI job offers no identity token. */
export function oidcNoIdentityError(provider: CiProvider, registry: string, why: string): LockstepError {
  const how =
    provider === 'GitHub Actions'
      ? 'give the job `permissions: id-token: write`'
      : provider === 'GitLab CI'
        ? `declare \`id_tokens: NPM_ID_TOKEN: aud: "npm:${hostOf(registry)}"\` in the job`
        : `export NPM_ID_TOKEN from \`circleci run oidc get --claims '{"aud": "npm:${hostOf(registry)}"}'\``;
  return new LockstepError(ErrorCodes.EOIDC, `${provider} gave no identity token for trusted publishing to ${registry}: ${why}`, {
    hint: `To publish without a token, ${how}; or configure a token for the registry (auth "token").`,
  });
}

/** The registry refused to exchange the job's identity for a token of `name`. */
export function oidcExchangeError(provider: CiProvider, name: string, registry: string, claims: IdentityClaims, why: string): LockstepError {
  const publisher = [
    `provider ${provider}`,
    `repository ${claims.repository ?? '(the repository of this job)'}`,
    `workflow file ${claims.workflow ?? '(the workflow of this job)'}`,
    `environment ${claims.environment ?? '(none: leave it empty)'}`,
  ].join(', ');
  return new LockstepError(ErrorCodes.EOIDC, `${registry} did not exchange this ${provider} job's identity for a publish token of ${name} (${why})`, {
    hint: `Add a trusted publisher to ${name} on the registry (package settings, Trusted publishing) with ${publisher}; or configure a token for the registry.`,
  });
}

/** npm's libraries could not attach a provenance attestation. */
export function provenanceError(name: string, version: string, why: string, fromFile: boolean): LockstepError {
  return new LockstepError(ErrorCodes.EPROVENANCE, `No provenance attestation for ${name}@${version}: ${why}`, {
    hint: fromFile
      ? 'provenanceFile must be a sigstore bundle made for this tarball (its subject is the package URL and the tarball sha512), verifiable against sigstore\'s trust root.'
      : 'Provenance is signed through sigstore from a GitHub Actions (id-token: write) or GitLab CI (SIGSTORE_ID_TOKEN) job, for a public package: set provenance to false otherwise.',
  });
}

function hostOf(registry: string): string {
  try {
    return new URL(registry).hostname;
  } catch {
    return registry;
  }
}

/** The registry answered a stage request without a stage id (it has no staged publishing). */
export function stageAnswerError(registry: string, name: string, version: string, redact: Redact): LockstepError {
  return new LockstepError(ErrorCodes.EREGISTRY, redact(`${registry} answered the stage of ${name}@${version} without a stage id`), {
    hint: 'The registry may not support staged publishing (npm 11.15+ against registry.npmjs.org): publish without stage.',
  });
}
