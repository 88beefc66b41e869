import { redact } from '../registry/redact';
import { escapeControls, hasControls, redactUrls, safeJson, safeLines, safeText, truncateText } from './display';

/** Anything a terminal would act on: C0 (but newline/tab where allowed), DEL, C1, bidi controls, separators. */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

describe('escapeControls / safeText', () => {
  it('escapes C0 controls, DEL, C1 controls, bidi controls and separators as \\uXXXX', () => {
    expect(escapeControls('a\x1b[2Jb')).toBe('a\\u001b[2Jb');
    expect(escapeControls('\x00\x07\x08\t\n\r\x7f')).toBe('\\u0000\\u0007\\u0008\\u0009\\u000a\\u000d\\u007f');
    expect(escapeControls('\x9b31m\x85')).toBe('\\u009b31m\\u0085');
    expect(escapeControls('evil\u202Etxt.exe \u2066x\u2069 \u200e\u200f\u061c')).toBe('evil\\u202etxt.exe \\u2066x\\u2069 \\u200e\\u200f\\u061c');
    expect(escapeControls('a\u2028b\u2029')).toBe('a\\u2028b\\u2029');
    expect(escapeControls('lone \ud800 and \udc00')).toBe('lone \\ud800 and \\udc00');
  });

  it('leaves printable text alone: ASCII, accents, CJK, emoji (surrogate pairs), backslashes', () => {
    for (const text of ['ci@runner-3', 'package:@acme/api', 'Zoë 東京 🚀', 'C:\\path\\u001b (typed, not a control)']) {
      expect(escapeControls(text)).toBe(text);
      expect(hasControls(text)).toBe(false);
      expect(safeText(text)).toBe(text);
    }
    expect(hasControls('x\x1by')).toBe(true);
    expect(hasControls('x\u202ey')).toBe(true);
  });

  it('cuts absurdly long values with an ellipsis, never inside a surrogate pair', () => {
    const shown = safeText('A'.repeat(10_000));
    expect(shown).toHaveLength(200);
    expect(shown.endsWith('…')).toBe(true);
    expect(safeText('x'.repeat(50), 10)).toBe('xxxxxxxxx…');
    expect(safeText('🚀'.repeat(10), 4)).toBe('🚀…');
    expect(truncateText('abc', 3)).toBe('abc');
    // Escapes count as written: ten ESC characters become 60 characters of text, cut to the limit.
    const escapes = safeText('\x1b'.repeat(10), 20);
    expect(escapes).toHaveLength(20);
    expect(escapes).not.toMatch(RAW_CONTROL);
    // A huge value costs no more than a short one, and still ends in an ellipsis.
    const huge = safeText(`${'\x1b'.repeat(5_000_000)}`, 30);
    expect(huge).toHaveLength(30);
    expect(huge.endsWith('…')).toBe(true);
  });

  it('shows what is not a string (a damaged record) by its String() form', () => {
    expect(safeText(42)).toBe('42');
    expect(safeText(undefined)).toBe('undefined');
    expect(safeText(3.6e29)).toBe('3.6e+29');
  });
});

describe('safeLines', () => {
  it('keeps newlines and tabs of multi-line output, escapes the rest, and is idempotent', () => {
    const text = 'line 1\tok\nowner \x1b[2J\rx';
    expect(safeLines(text)).toBe('line 1\tok\nowner \\u001b[2J\\u000dx');
    expect(safeLines(safeLines(text))).toBe(safeLines(text));
    expect(safeLines(safeText('a\x1bb'))).toBe(safeText('a\x1bb'));
  });
});

describe('safeJson', () => {
  it('is JSON of the same value, with no raw control character in the text', () => {
    const value = { owner: 'evil\x1b[2J\x9b\u202e', nested: [{ host: 'h\u2028' }], n: 1, ok: true, none: null };
    const json = safeJson(value);
    expect(json).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('cuts strings longer than the limit', () => {
    const json = safeJson({ owner: 'A'.repeat(10_000), short: 'x' }, 100);
    const parsed = JSON.parse(json);
    expect(parsed.owner).toHaveLength(100);
    expect(parsed.owner.endsWith('…')).toBe(true);
    expect(parsed.short).toBe('x');
  });
});

describe('redactUrls', () => {
  it.each([
    ['user:pass@', 'GET https://ci-user:s3cr3t@registry.example.com/pkg', 'GET https://***@registry.example.com/pkg'],
    ['a token alone', 'git push https://ghp_abc123@github.com/o/r.git', 'git push https://***@github.com/o/r.git'],
    ['a password with an @ in it', 'https://me:p@ss@host.example/x', 'https://***@host.example/x'],
    ['an IPv6 host', 'http://u:pw@[::1]:4873/', 'http://***@[::1]:4873/'],
    ['an IPv6 host without credentials', 'http://[::1]:4873/@scope%2fname', 'http://[::1]:4873/@scope%2fname'],
    ['an @ in the path only', 'PUT http://127.0.0.1:4873/@demo%2ftiny failed', 'PUT http://127.0.0.1:4873/@demo%2ftiny failed'],
    ['an @ in the query only', 'https://host.example/x?mail=a@b', 'https://host.example/x?mail=a@b'],
    ['no URL', 'mail me@example.com, or git@github.com:o/r', 'mail me@example.com, or git@github.com:o/r'],
    ["quoted, as git prints it", "fatal: unable to access 'https://me:tok@github.com/o/r.git/': 403", "fatal: unable to access 'https://***@github.com/o/r.git/': 403"],
  ])('%s', (_case, text, expected) => {
    expect(redactUrls(text)).toBe(expected);
  });

  it('redacts every URL of a longer text, each up to its own host', () => {
    const text = 'tried https://a:1@one.example/x then ssh://git@two.example/y and http://tok@[2001:db8::1]/z; no luck';
    expect(redactUrls(text)).toBe('tried https://***@one.example/x then ssh://***@two.example/y and http://***@[2001:db8::1]/z; no luck');
  });

  it('is what the registry redactor applies to URLs (one rule): a token alone is redacted there too', () => {
    expect(redact('GET https://npmtoken1234@registry.example.com/pkg')).toBe('GET https://***@registry.example.com/pkg');
  });
});
