import { checkDurationRange, formatDuration, parseDuration } from './duration';

describe('parseDuration', () => {
  it('reads numbers with units, units combined largest first, and fractions that make whole milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d2h3m4s5ms')).toBe(93_784_005);
    expect(parseDuration('1m30s500ms')).toBe(90_500);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('0h30m')).toBe(1_800_000);
    expect(parseDuration(' 10s ')).toBe(10_000);
    expect(parseDuration('9007199254740991ms')).toBe(Number.MAX_SAFE_INTEGER);
  });

  // Every refusal: EBADDURATION, a message saying what is wrong, and a hint with examples.
  const refusals: [string, string][] = [
    ['30', 'has no unit'],
    ['0', 'has no unit'],
    ['1.5', 'has no unit'],
    ['', 'is empty'],
    [' ', 'is empty'],
    ['abc', 'is not a duration'],
    ['10 s', 'is not a duration'],
    ['10x', 'is not a duration'],
    ['s', 'is not a duration'],
    ['1h 30m', 'is not a duration'],
    ['5sm', 'is not a duration'],
    ['m5', 'is not a duration'],
    ['1.5.5s', 'is not a duration'],
    ['.5s', 'is not a duration'],
    ['1h1h', "repeats the unit 'h'"],
    ['30s30s', "repeats the unit 's'"],
    ['1h30m1h', "repeats the unit 'h'"],
    ['30m1h', "has 'h' after 'm'"],
    ['500ms1s', "has 's' after 'ms'"],
    ['1s1d', "has 'd' after 's'"],
    ['-5m', 'is negative'],
    ['-0s', 'is negative'],
    ['+5m', 'has a sign'],
    ['1e3s', 'has an exponent'],
    ['1E3', 'has an exponent'],
    ['99999999999999999999999h', 'is too long'],
    ['9007199254740992ms', 'is too long'],
    ['999999999999999d', 'is too long'],
    ['1.0000000001s', 'has too many decimal places'],
    ['1'.repeat(100) + 's', 'is too long to be a duration'],
    ['1.0005s', 'is not a whole number of milliseconds'],
    ['0.5ms', 'is not a whole number of milliseconds'],
    ['0s', 'must be longer than zero'],
    ['0ms', 'must be longer than zero'],
    ['0h0m', 'must be longer than zero'],
  ];
  it.each(refusals)('refuses %j: %s', (text, problem) => {
    expect(() => parseDuration(text, 'TTL')).toThrow(
      expect.objectContaining({ code: 'EBADDURATION', message: expect.stringContaining(problem), hint: expect.stringMatching(/30s, 15m, 2h, 1h30m/) }),
    );
  });

  it('names what it parsed in the message, and shows the text escaped and cut', () => {
    expect(() => parseDuration('abc', 'TTL')).toThrow("The TTL 'abc' is not a duration.");
    expect(() => parseDuration('5m\x1b[2J', 'wait')).toThrow(expect.objectContaining({ message: expect.stringContaining('\\u001b[2J') }));
    const long = (() => {
      try {
        parseDuration('x'.repeat(10_000));
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(long!.length).toBeLessThan(200);
  });

  it('applies limits, naming them and where the maximum comes from', () => {
    const limits = { minMs: 1000, maxMs: 7 * 86_400_000, maxSource: 'set by LOCKSTEP_MAX_TTL' };
    expect(parseDuration('1s', 'TTL', limits)).toBe(1000);
    expect(parseDuration('7d', 'TTL', limits)).toBe(7 * 86_400_000);
    expect(() => parseDuration('1ms', 'TTL', limits)).toThrow(
      expect.objectContaining({ code: 'EBADDURATION', message: "The TTL '1ms' is too short: it must be between 1s and 7d (set by LOCKSTEP_MAX_TTL).", hint: expect.stringContaining('15m') }),
    );
    expect(() => parseDuration('7d1ms', 'TTL', limits)).toThrow(expect.objectContaining({ message: expect.stringContaining('is too long: it must be between 1s and 7d') }));
    expect(() => parseDuration('99999999999999999999999h', 'TTL', limits)).toThrow(expect.objectContaining({ message: expect.stringContaining('is too long: at most 7d (set by LOCKSTEP_MAX_TTL)') }));
    expect(() => parseDuration('1h1h', 'TTL', limits)).toThrow(expect.objectContaining({ hint: expect.stringContaining('between 1s and 7d') }));
  });
});

describe('checkDurationRange', () => {
  it('accepts safe whole numbers of ms within the limits, else EBADDURATION', () => {
    expect(checkDurationRange(1500, 'TTL')).toBe(1500);
    for (const bad of [0, -1, 1.5, NaN, Infinity, 3.6e29, '5' as unknown as number]) {
      expect(() => checkDurationRange(bad, 'TTL')).toThrow(expect.objectContaining({ code: 'EBADDURATION', hint: expect.any(String) }));
    }
    expect(() => checkDurationRange(500, 'TTL', { minMs: 1000, maxMs: 60_000 })).toThrow("The TTL '500ms' is too short: it must be between 1s and 1m.");
  });
});

describe('formatDuration', () => {
  it('writes milliseconds below a second, else whole units', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(-5)).toBe('0ms');
    expect(formatDuration(450)).toBe('450ms');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_061_000)).toBe('1d1h1m1s');
  });

  it('says ? for what is not a finite number', () => {
    expect(formatDuration(NaN)).toBe('?');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatDuration('x' as unknown as number)).toBe('?');
  });

  it('is the inverse of parseDuration for whole seconds', () => {
    for (const ms of [1_000, 59_000, 3_600_000, 5_430_000, 7 * 86_400_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
