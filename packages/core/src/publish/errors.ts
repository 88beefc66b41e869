import { ErrorCodes, LockstepError } from '../errors';

/**
 * Every error of the publish area: the run (publish-packages.ts) and the checks
 * before its first upload (preflight.ts). A situation both find (a version
 * that should be on the registry and is not, a dependency outside the run
 * that is not there) has one factory, so both say it the same way. See
 * errors.ts for the convention.
 */

/** A package of the run, as these messages name it. */
interface Named {
  name: string;
  version: string;
}

/** EVERSIONEXISTS: the version is on the registry with other content (another integrity). */
export function versionExistsError(pkg: Named, registry: string, theirs: string, ours: string): LockstepError {
  return new LockstepError(ErrorCodes.EVERSIONEXISTS, `${pkg.name}@${pkg.version} is already on ${registry} with other content (registry ${theirs.slice(0, 24)}…, local ${ours.slice(0, 24)}…).`, {
    hint: `A published version never changes: bump the version of ${pkg.name} and publish again.`,
  });
}

/** EWORKSPACEDEP: a version expected on the registry already (`expectPublished`, e.g. nx release did not bump it) is not there. */
export function expectedVersionMissingError(pkg: Named & { expectPublished?: string }, registry: string): LockstepError {
  return new LockstepError(ErrorCodes.EWORKSPACEDEP, `${pkg.name}@${pkg.version} should already be on ${registry} (${pkg.expectPublished}), and is not.`, {
    hint: `Give ${pkg.name} a new version (nx release version), or pass --first-release if this is its first release: then it is published as it is.`,
  });
}

/** EWORKSPACEDEP: a dependency on a workspace package outside the run, at its current version, which the registry does not have. */
export function outOfRunDependencyMissingError(pkg: { name: string }, dep: string, version: string, registry: string): LockstepError {
  return new LockstepError(ErrorCodes.EWORKSPACEDEP, `${pkg.name} depends on ${dep}@${version} from the workspace, which is neither in this run nor on ${registry}.`, {
    hint: `Publish ${dep} in the same run (drop -p / --excludeTaskDependencies), or publish ${dep}@${version} first.`,
  });
}

/** EWORKSPACEDEP: a dependency on a private workspace package (never published) that the registry does not have. */
export function privateDependencyMissingError(pkg: { name: string }, dep: string, version: string, registry: string): LockstepError {
  return new LockstepError(ErrorCodes.EWORKSPACEDEP, `${pkg.name} depends on ${dep}@${version}, which is private (lockstep never publishes it) and not on ${registry}.`, {
    hint: `Remove "private": true from ${dep} so it is released too, move the dependency to devDependencies if it is only needed to build, or publish ${dep}@${version} first.`,
  });
}

/** A plain range on a workspace package that the workspace version does not satisfy, so it resolves on the registry. */
export interface RegistryRange {
  field: string;
  name: string;
  range: string;
  /** The workspace's version of `name`. */
  version: string | undefined;
}

/** EWORKSPACEDEP: such a range has no version on the registry. */
export function registryRangeMissingError(pkg: { name: string }, { field, name, range, version }: RegistryRange, registry: string): LockstepError {
  return new LockstepError(
    ErrorCodes.EWORKSPACEDEP,
    `${pkg.name}: ${field}["${name}"] is "${range}", which the workspace's ${name}@${version} does not satisfy, and ${registry} has no version of ${name} in that range.`,
    { hint: `Use "workspace:^" (or a range ${version} satisfies) to depend on the version in the workspace, or publish a version of ${name} in "${range}" first.` },
  );
}

/** EBADMANIFEST: access "restricted" for an unscoped package (libnpmpublish's EUNSCOPED, found before the upload). */
export function restrictedUnscopedError(name: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADMANIFEST, `${name} is not scoped, so it cannot be published with access "restricted".`, {
    hint: 'Publish it under a scope (@org/name), or publish it with access "public".',
  });
}

/** EBADMANIFEST: publishConfig is not an object, or a value lockstep honours there (registry, tag, access, provenance) is not one npm would accept. */
export function publishConfigInvalidError(pkg: Named, what: string, hint: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADMANIFEST, `${pkg.name}@${pkg.version}: publishConfig${what}`, { hint });
}

/** EBADMANIFEST: a prerelease whose tag would be "latest" only because nothing set one (npm 11 refuses it too). */
export function prereleaseWithoutTagError(pkg: Named): LockstepError {
  return new LockstepError(
    ErrorCodes.EBADMANIFEST,
    `${pkg.name}@${pkg.version} is a prerelease and no tag was set, so it would become the "latest" version everyone installs.`,
    {
      hint: 'Set a tag: the publish target\'s tag option (e.g. "next"), "publishConfig": {"tag": "next"} in its package.json, or --tag next on the command line. To make a prerelease latest on purpose, set tag "latest" explicitly.',
    },
  );
}
