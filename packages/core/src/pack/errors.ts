import { ErrorCodes, LockstepError, errnoCode } from '../errors';

/**
 * Every error of the pack area: reading a package.json (read-manifest.ts),
 * rewriting its internal specs (rewrite-manifest.ts), staging, checking and
 * packing it (stage-package.ts, check-package.ts, pack-package.ts). See
 * errors.ts for the convention.
 */

// ------------------------------------------------------------- package.json

/** EPACK: package.json cannot be read (missing: the folder is not a package). */
export function manifestUnreadableError(packageDir: string, file: string, error: unknown): LockstepError {
  const missing = errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR';
  return new LockstepError(ErrorCodes.EPACK, missing ? `There is no package.json in ${packageDir}.` : `Cannot read ${file}: ${(error as Error).message}`, {
    hint: missing ? 'Point packageRoot at the folder to publish; it must hold a package.json.' : 'Check the file exists and is readable.',
    cause: error,
  });
}

/** EPACK: package.json is not JSON. */
export function manifestNotJsonError(file: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file} is not valid JSON: ${(error as Error).message}`, {
    hint: `Fix the JSON syntax of ${file} (\`node -e "require('${file.replace(/\\/g, '/')}')"\` shows where it breaks).`,
    cause: error,
  });
}

/** EPACK: package.json holds JSON that is not an object. */
export function manifestNotObjectError(file: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file} does not hold a JSON object.`, { hint: 'A package.json is an object such as {"name": "x", "version": "1.0.0"}.' });
}

/** EPACK: package.json lacks "name" or "version" (`lacking`: '"name"', '"version"' or both). */
export function manifestFieldsMissingError(file: string, lacking: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file} has no ${lacking}; a package needs both to be published.`, {
    hint: 'Add the missing field, or mark the project as not publishable (for example "private": true, or no publish target).',
  });
}

/** EPACK: the name is not a valid package name (npm-package-arg's reason). */
export function manifestBadNameError(file: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file}: ${(error as Error).message}`, {
    hint: 'Package names are lowercase, URL-safe, at most 214 characters, optionally scoped as @scope/name.',
    cause: error,
  });
}

/** EPACK: the version is not an exact semver version. */
export function manifestBadVersionError(file: string, name: string, version: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file}: version "${version}" of ${name} is not an exact semver version.`, {
    hint: 'Use a version such as 1.2.3 or 1.2.3-beta.1 (no "v" prefix, no range).',
  });
}

/** EBADMANIFEST: the version carries build metadata (+…), which npm's publish strips: the registry would hold another version than the one asked for. */
export function manifestBuildMetadataError(file: string, name: string, version: string): LockstepError {
  const plain = version.slice(0, version.indexOf('+'));
  return new LockstepError(ErrorCodes.EBADMANIFEST, `${file}: version "${version}" of ${name} has build metadata ("+${version.slice(plain.length + 1)}"), which npm removes on publish: the registry would get ${plain}, not ${version}.`, {
    hint: `Publish "${plain}", or put the build into the version itself as a prerelease (e.g. "${plain}-build.1", with a tag such as "next").`,
  });
}

// ------------------------------------------------------------ internal specs

/** Where a dependency spec sits: `owner`'s `field["dep"]` is `spec`. */
export interface SpecSite {
  owner: string;
  field: string;
  dep: string;
  spec: string;
}

/** EWORKSPACEDEP: a workspace: spec names (or, `byPath`, points at) no workspace package. */
export function unknownWorkspacePackageError(site: SpecSite, target: string, byPath = false): LockstepError {
  return new LockstepError(
    ErrorCodes.EWORKSPACEDEP,
    `${site.owner}: ${site.field}["${site.dep}"] is "${site.spec}", but no workspace package is ${byPath ? 'at' : 'named'} "${target}".`,
    { hint: `Add ${byPath ? `the package at "${target}"` : `"${target}"`} to the workspace, fix the spec, or depend on a registry version (for example "^1.0.0") instead of "${site.spec}".` },
  );
}

/** EWORKSPACEDEP: a workspace: spec that cannot be read (`why`), with how to write it (`hint`). */
export function badWorkspaceSpecError(site: SpecSite, why: string, hint: string): LockstepError {
  return new LockstepError(ErrorCodes.EWORKSPACEDEP, `${site.owner}: ${site.field}["${site.dep}"] is "${site.spec}": ${why}.`, { hint });
}

/** EWORKSPACEDEP: the spec points at a workspace package whose version the caller did not give. */
export function workspaceVersionUnknownError(site: SpecSite, target: string): LockstepError {
  return new LockstepError(ErrorCodes.EWORKSPACEDEP, `${site.owner}: ${site.field}["${site.dep}"] ("${site.spec}") points at workspace package "${target}", whose version is unknown.`, {
    hint: `Pass the version of "${target}" in releaseVersions or workspaceVersions.`,
  });
}

/** EWORKSPACEDEP: a file: or link: spec to a path that is no workspace package (published, it could not be installed). */
export function localPathSpecError(owner: string, field: string, dep: string, spec: string): LockstepError {
  return new LockstepError(ErrorCodes.EWORKSPACEDEP, `${owner}: ${field}["${dep}"] is "${spec}", but no workspace package is named "${dep}": it would be published as a local path no one can install.`, {
    hint: `Depend on a registry version of "${dep}" (for example "^1.0.0"), point the spec at a workspace package of that name, or move it to devDependencies if it is only needed to build.`,
  });
}

// ------------------------------------------------------------------ packing

const UNSTABLE_FOLDER_HINT = 'Check that the package folder is readable and not changing while it is packed.';

/** EPACK: a file of the package could not be read while staging it. */
export function packReadError(file: string, name: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `Could not read ${file} while packing ${name}: ${(error as Error).message}`, { hint: UNSTABLE_FOLDER_HINT, cause: error });
}

/** EPACK: npm's file list of the package could not be made. */
export function packListError(name: string, dir: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `Could not list the files of ${name} in ${dir}: ${(error as Error).message}`, { hint: UNSTABLE_FOLDER_HINT, cause: error });
}

/** EPACK: checking the package failed with something other than a LockstepError. */
export function packCheckError(packageDir: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `Could not check ${packageDir}: ${(error as Error)?.message ?? error}`, { hint: UNSTABLE_FOLDER_HINT, cause: error });
}

/** EPACK: the package declares bundleDependencies. */
export function bundleDependenciesError(name: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${name} declares bundleDependencies, which lockstep does not pack.`, {
    hint: 'Remove bundleDependencies (publish those packages and depend on them), or publish this package with npm itself.',
  });
}

/** EPACK: files npm would publish cannot be read: the first `maxNamed` of `files` named, the rest counted. */
export function unreadableFilesError(owner: string, dir: string, files: readonly string[], maxNamed: number): LockstepError {
  const named = files.slice(0, maxNamed).join(', ');
  const more = files.length > maxNamed ? ` and ${files.length - maxNamed} more` : '';
  return new LockstepError(ErrorCodes.EPACK, `${owner}: npm would publish files that cannot be read in ${dir}: ${named}${more}.`, {
    hint: 'Make them readable, or leave them out of the package (`files` in package.json, .npmignore).',
  });
}

/** EPACK: the staged package could not be made into a tarball (its bin rule, a header node-tar cannot encode). */
export function npmPackError(name: string, version: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `npm could not pack ${name}@${version}: ${(error as Error).message}`, {
    hint: 'Run `npm pack --dry-run --ignore-scripts` in the package folder to see what npm objects to.',
    cause: error,
  });
}
