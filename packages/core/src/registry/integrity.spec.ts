import { createHash } from 'crypto';
import { integrityOf, sameIntegrity } from './integrity';

describe('integrity', () => {
  const a = Buffer.from('tarball a');
  const b = Buffer.from('tarball b');

  it('is sha512 in SRI form, as npm writes dist.integrity', () => {
    expect(integrityOf(a)).toBe(`sha512-${createHash('sha512').update(a).digest('base64')}`);
  });

  it('compares by content', () => {
    expect(sameIntegrity(integrityOf(a), integrityOf(a))).toBe(true);
    expect(sameIntegrity(integrityOf(a), integrityOf(b))).toBe(false);
    const sha1 = `sha1-${createHash('sha1').update(a).digest('base64')}`;
    expect(sameIntegrity(`${integrityOf(a)} ${sha1}`, integrityOf(a))).toBe(true);
  });

  it('never matches empty, missing or unreadable values', () => {
    expect(sameIntegrity(undefined, integrityOf(a))).toBe(false);
    expect(sameIntegrity('', '')).toBe(false);
    expect(sameIntegrity('garbage', 'garbage')).toBe(false);
  });
});
