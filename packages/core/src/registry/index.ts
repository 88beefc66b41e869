export {
  createRegistryClient,
  escapeName,
  type PublishedVersion,
  type PublishOptions,
  type PublishOutcome,
  type RegistryClient,
  type RegistryClientOptions,
  type RegistryTransport,
  type WaitOptions,
} from './registry-client';
export { loadNpmConfig, nerfDart, normalizeRegistry, scopeOf, type LoadNpmConfigOptions, type NpmConfig } from './npm-config';
export {
  withRetries,
  backoffDelay,
  defaultRetryDecision,
  DEFAULT_RETRIES,
  DEFAULT_BASE_MS,
  DEFAULT_CAP_MS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  type RetryDecision,
  type RetryInfo,
  type RetryOptions,
} from './retry';
export { parseRetryAfter, retryAfterFromHeaders } from './retry-after';
export { classifyRegistryError, isTransient, errorCodeFor, PUBLISHED_OVER, type FailureKind, type RegistryFailure } from './classify';
export { redact, createRedactor, REDACTED } from './redact';
export { integrityOf, sameIntegrity } from './integrity';
export { toRegistryError, type RegistryErrorContext, type RegistryOperation } from './errors';
export { AUTH_MODES, createTrustedPublishing, detectOidcProvider, identityClaims, usesTrustedPublishing, type AuthMode, type CiProvider, type IdentityClaims, type TrustedPublishing } from './oidc';
export { attachProvenance, type ProvenanceOptions } from './provenance';
export { createRunOtpPrompt, openControllingTerminal, readHiddenLine, type OtpPrompt } from './otp-prompt';
