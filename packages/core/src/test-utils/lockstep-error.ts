import { type ErrorCode, LockstepError } from '../errors';

/**
 * Asserts that `subject` (a promise, or a function that throws or returns a
 * rejecting promise) fails with a LockstepError of `code` whose message
 * matches `message` (a RegExp, or a string it contains) and which carries a
 * hint: what every deliberate error promises (G5). Returns the error for
 * further checks.
 */
export async function expectLockstepError(subject: Promise<unknown> | (() => unknown), code: ErrorCode, message?: RegExp | string): Promise<LockstepError> {
  let error: unknown;
  let failed = false;
  try {
    await (typeof subject === 'function' ? subject() : subject);
  } catch (caught) {
    failed = true;
    error = caught;
  }
  if (!failed) throw new Error(`Expected a LockstepError ${code}, but nothing was thrown.`);
  if (!(error instanceof LockstepError)) throw new Error(`Expected a LockstepError ${code}, got: ${(error as Error)?.stack ?? String(error)}`);
  expect({ code: error.code, message: error.message }).toEqual({
    code,
    message: message === undefined ? expect.any(String) : typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
  });
  expect(error.hint).toEqual(expect.stringMatching(/\S/));
  return error;
}
