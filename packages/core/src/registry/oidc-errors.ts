import { ErrorCodes, LockstepError } from '../errors';
import type { CiProvider, IdentityClaims } from './oidc';

/**
 * Errors of trusted publishing (EOIDC) and provenance (EPROVENANCE). No
 * message carries a token: identity and exchanged tokens are never passed
 * in, only the claims that name the trusted publisher npm looks for.
 */

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
