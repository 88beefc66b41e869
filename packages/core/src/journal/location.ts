import * as path from 'path';

/**
 * Where the journal of a release target lives: `<cacheDir>/lockstep/publish/<target>`
 * (cacheDir: Nx's cache directory). The run, `lockstep state` and the e2e
 * tests all find it here.
 */
export function journalLocation(cacheDir: string, target: string): string {
  return path.join(cacheDir, 'lockstep', 'publish', target);
}
