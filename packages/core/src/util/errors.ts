import { ErrorCodes, LockstepError } from '../errors';
import { safeText } from './display';

/** The errors of util/ (see errors.ts for the convention). */

/** EBADDURATION: "The <what> '<text>' <problem>." — `text` as written (escaped and cut), `problem` says what is wrong. */
export function durationError(what: string, text: string, problem: string, hint: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADDURATION, `The ${what} '${safeText(text, 40)}' ${problem}.`, { hint });
}
