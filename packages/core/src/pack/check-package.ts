import { constants as fsConstants, promises as fsp } from 'fs';
import * as path from 'path';
import { LockstepError } from '../errors';
import { mapLimit } from '../util/map-limit';
import { INSTALLED_FIELDS } from '../manifest/internal-spec';
import { localPathSpecError, packCheckError, unreadableFilesError } from './errors';
import { StageOptions, listPackage } from './stage-package';


const CHECK_CONCURRENCY = 32;
/** Unreadable files named in one problem; the rest are counted. */
const MAX_FILES_NAMED = 5;

export interface PackageCheck {
  /** The package name, when the manifest could be read. */
  name?: string;
  /** What packPackage would put in the tarball (posix paths), when the listing worked. */
  files: string[];
  /** Every reason packPackage would fail, or the published manifest would not install; empty when packable. */
  problems: LockstepError[];
}

/**
 * Whether packPackage would succeed, without making the tarball: the
 * manifest (valid name, exact semver version), bundleDependencies, every
 * internal spec (all found in one pass), npm's file list, and every listed
 * file readable (checked with access(), never read). Also refuses what pack
 * would let through but no one could install: a `file:`/`link:` spec in
 * dependencies, optionalDependencies or peerDependencies that names no
 * workspace package (it would be published as a local path).
 *
 * What it leaves to the real pack: tar and gzip themselves (pack-package.ts), and
 * files that change between this check and the pack. Costs one manifest
 * read, one npm-packlist walk and one access() per file: no copy, no
 * compression. `files: false` stops after the manifest and its specs (one
 * file read): no listing, no access checks.
 */
export async function checkPackage(packageDir: string, options: StageOptions & { files?: boolean }): Promise<PackageCheck> {
  const problems: LockstepError[] = [];
  let listing;
  try {
    listing = await listPackage(packageDir, { ...options, problems, listFiles: options.files !== false });
  } catch (error) {
    problems.push(error instanceof LockstepError ? error : packCheckError(packageDir, error));
    return { files: [], problems };
  }
  const { dir, manifest, list } = listing;
  const owner = manifest.name;
  // A spec in a field a consumer's install resolves must mean something to a registry.
  for (const field of INSTALLED_FIELDS) {
    const deps = manifest[field];
    if (typeof deps !== 'object' || deps === null || Array.isArray(deps)) continue;
    for (const [dep, spec] of Object.entries(deps as Record<string, unknown>)) {
      // Still a local path after the rewrite (which turns those of workspace packages into versions).
      if (typeof spec !== 'string' || !/^(file|link):/.test(spec)) continue;
      problems.push(localPathSpecError(owner, field, dep, spec));
    }
  }
  const unreadable: string[] = [];
  await mapLimit(list, CHECK_CONCURRENCY, async (rel) => {
    if (rel === 'package.json') return;
    try {
      await fsp.access(path.join(dir, ...rel.split('/')), fsConstants.R_OK);
    } catch (error) {
      unreadable.push(`${rel} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  });
  if (unreadable.length > 0) {
    unreadable.sort();
    problems.push(unreadableFilesError(owner, dir, unreadable, MAX_FILES_NAMED));
  }
  return { name: owner, files: list, problems };
}
