import { createRedactor, redact, REDACTED } from './redact';

describe('redact', () => {
  const token = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-abc123';

  it('removes configured secrets wherever they appear, also base64 and URL-encoded', () => {
    const b64 = Buffer.from(token).toString('base64');
    const text = `token ${token} in the middle; encoded ${encodeURIComponent('p@ss/word!x')} and ${b64}`;
    const out = redact(text, [token, 'p@ss/word!x']);
    expect(out).not.toContain(token);
    expect(out).not.toContain(b64);
    expect(out).not.toContain('p%40ss');
    expect(out).toContain(REDACTED);
  });

  it('removes a longer secret whole even when a shorter one is part of it', () => {
    expect(redact('x=abcdef123456 y', ['abcd', 'abcdef123456'])).toBe('x=*** y');
  });

  it('ignores empty, missing and very short secrets instead of shredding the text', () => {
    expect(redact('a publish of a to b', ['', undefined, null, 'a', 'ab'])).toBe('a publish of a to b');
  });

  it.each([
    ['//registry.npmjs.org/:_authToken=abc.def-ghi', '//registry.npmjs.org/:_authToken=***'],
    ['_auth = dXNlcjpwYXNz', '_auth = ***'],
    ['//host/:_password="c2VjcmV0"', '//host/:_password="***"'],
    ['{"_authToken":"s3cr3t"}', '{"_authToken":"***"}'],
    ['Authorization: Bearer abcdef123', 'Authorization: Bearer ***'],
    ['authorization: "Basic dXNlcjpwYXNz"', 'authorization: "Basic ***"'],
    ['sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.x1 to it', 'sent Bearer *** to it'],
    ['npm-otp: 123456', 'npm-otp: ***'],
    ['--otp=654321', '--otp=***'],
    [`token npm_${'a1B2c3D4e5'.repeat(3)}123456 leaked`, 'token npm_*** leaked'],
    ['GET https://user:hunter22@registry.example.com/pkg', 'GET https://***@registry.example.com/pkg'],
  ])('pattern: %s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('leaves ordinary registry messages alone', () => {
    const messages = [
      '401 Unauthorized - PUT http://127.0.0.1:4873/@demo%2ftiny - authorization required to publish package @demo/tiny',
      'Unable to authenticate, need: Basic, Bearer',
      'OTP required for authentication',
      'Basic authentication failed',
      '409 Conflict - PUT http://127.0.0.1:4873/tiny - this package is already present',
    ];
    for (const m of messages) expect(redact(m)).toBe(m);
  });

  it('removes a 6-digit OTP with a leading zero, as a value and in every option or header form', () => {
    const r = createRedactor(['012345']);
    for (const text of ['code 012345 used', '--otp=012345', 'npm-otp: 012345', '{"otp":"012345"}', 'npm_config_otp=012345']) expect(r(text)).not.toContain('012345');
    // Its base64 form too (a header dump).
    expect(r(Buffer.from('012345').toString('base64'))).toBe(REDACTED);
  });

  it('createRedactor compiles once and can be applied many times', () => {
    const r = createRedactor([token]);
    expect(r(`a ${token}`)).toBe('a ***');
    expect(r(`b ${token} ${token}`)).toBe('b *** ***');
    expect(r('')).toBe('');
  });
});
