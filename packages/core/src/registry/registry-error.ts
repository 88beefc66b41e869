import { ErrorCodes, LockstepError, isLockstepError } from '../errors';
import { classifyRegistryError, errorCodeFor } from './classify';

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
