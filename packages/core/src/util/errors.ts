import { ErrorCodes, LockstepError } from '../errors';
import { safeText } from './display';

/** The errors of util/ (see errors.ts for the convention). */

/** EBADDURATION: "The <what> '<text>' <problem>." — `text` as written (escaped and cut), `problem` says what is wrong. */
export function durationError(what: string, text: string, problem: string, hint: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADDURATION, `The ${what} '${safeText(text, 40)}' ${problem}.`, { hint });
}

/** EABORTED: work was stopped through an AbortSignal whose reason is not a LockstepError (the caller gave none, or a plain Error). */
export function abortedError(reason?: unknown): LockstepError {
  const why = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new LockstepError(ErrorCodes.EABORTED, `Stopped before it finished${why}.`, {
    hint: 'It was asked to stop (a signal or a deadline). Run it again to finish.',
    ...(reason instanceof Error ? { cause: reason } : {}),
  });
}
