import { ErrorCodes, LockstepError, toLockstepError } from './errors';

describe('errors', () => {
  it('formats code, message and hint', () => {
    expect(new LockstepError(ErrorCodes.EBADOPTIONS, 'Bad.', { hint: 'Do this.' }).format()).toBe('[EBADOPTIONS] Bad.\n  Hint: Do this.');
  });

  it('wraps unknown errors as EINTERNAL that says it is a bug', () => {
    const wrapped = toLockstepError(new TypeError('x is undefined'));
    expect(wrapped.code).toBe('EINTERNAL');
    expect(wrapped.format()).toMatch(/x is undefined[\s\S]*bug/);
  });

  it('keeps lockstep errors as they are', () => {
    const original = new LockstepError(ErrorCodes.ELOCKTIMEOUT, 'Timed out.');
    expect(toLockstepError(original)).toBe(original);
  });
});
