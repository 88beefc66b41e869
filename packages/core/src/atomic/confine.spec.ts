import { normalizeEmittedPath } from './confine';

describe('normalizeEmittedPath', () => {
  it.each([
    ['a.txt', 'a.txt'],
    ['./lib//b.ts', 'lib/b.ts'],
    ['lib\\win\\c.ts', 'lib/win/c.ts'],
    ['a/./b', 'a/b'],
  ])('normalises %s to %s', (input, expected) => {
    expect(normalizeEmittedPath(input)).toBe(expected);
  });

  it.each(['/abs', '..', 'a/../../b', 'a/..', 'C:\\win', 'c:rel', '\\\\server\\share', 'x\0y', '', '.', './'])('refuses %j with EOUTSIDE', (input) => {
    expect(() => normalizeEmittedPath(input)).toThrow(expect.objectContaining({ code: 'EOUTSIDE' }));
  });
});
