import { formatDuration, parseDuration } from './duration';

describe('parseDuration', () => {
  it('reads numbers with units, combined units and fractions', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1m30s500ms')).toBe(90_500);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration(' 10s ')).toBe(10_000);
  });

  it('refuses a bare number: 30 could mean seconds or minutes', () => {
    for (const text of ['30', '0', '1.5']) {
      expect(() => parseDuration(text, 'TTL')).toThrow(expect.objectContaining({ code: 'EBADDURATION', message: expect.stringContaining('has no unit'), hint: expect.stringContaining('30s') }));
    }
  });

  it('refuses what is not a duration', () => {
    for (const text of ['abc', '', ' ', '10 s', '10x', 's', '-5s', '1h 30m', '5sm', 'm5']) {
      expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'EBADDURATION' }));
    }
  });

  it('refuses zero', () => {
    for (const text of ['0s', '0ms', '0h0m']) {
      expect(() => parseDuration(text, 'TTL')).toThrow(expect.objectContaining({ code: 'EBADDURATION', message: expect.stringContaining('longer than zero') }));
    }
  });

  it('names what it parsed in the message', () => {
    expect(() => parseDuration('abc', 'TTL')).toThrow("The TTL 'abc' is not a duration.");
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

  it('is the inverse of parseDuration for whole seconds', () => {
    for (const ms of [1_000, 59_000, 3_600_000, 5_430_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
