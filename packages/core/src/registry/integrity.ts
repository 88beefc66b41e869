import { ssri } from './npm-libs';

/** The sha512 Subresource Integrity string of a tarball, as npm writes it in `dist.integrity`. */
export function integrityOf(tarball: Buffer): string {
  return ssri().fromData(tarball, { algorithms: ['sha512'] }).toString();
}

/**
 * Whether two integrity strings describe the same bytes: they share an
 * algorithm and agree on it (ssri's match, strongest common algorithm).
 * Unparseable or empty values never match.
 */
export function sameIntegrity(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const left = ssri().parse(a);
  const right = ssri().parse(b);
  if (!left || !right || left.toString() === '' || right.toString() === '') return false;
  return Boolean(left.match(right));
}
