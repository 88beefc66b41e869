import { ErrorCodes, LockstepError } from '@lockstep/core/dist/errors';

/**
 * The errors @lockstep/nx makes itself: options that do not normalise. Every
 * other error comes from core. See core's errors.ts for the naming convention.
 */

/** An executor option (schema.json, nx.json's targetDefaults, the command line) that cannot be used as given. */
export function badOptionError(message: string, hint: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, message, { hint });
}
