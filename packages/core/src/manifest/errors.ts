import { ErrorCodes, LockstepError } from '../errors';

/**
 * Every error of reading the workspace's manifests (workspace-packages.ts).
 * Paths are shown relative to the workspace root. See errors.ts for the
 * naming convention.
 */

/** A project of the run has no package.json in its package root. */
export function projectWithoutManifestError(project: string, dir: string, packageRoot: string | undefined): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `Project ${project} has no package.json in ${dir || '.'}.`, {
    hint: packageRoot
      ? `packageRoot is "${packageRoot}": make the publish target dependsOn the target that fills it (e.g. "generate").`
      : 'Add a package.json to the project, or set packageRoot to the folder to publish.',
  });
}

export function projectManifestNotJsonError(file: string, why: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file} is not valid JSON: ${why}`, { hint: 'Fix the file and run again.' });
}

export function projectManifestNotObjectError(file: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file} does not hold a JSON object.`, { hint: 'Fix the file and run again.' });
}

export function projectManifestUnnamedError(file: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `${file} needs a name and a version to be published.`, {
    hint: 'Set "name" and "version", or mark the package "private": true.',
  });
}

/** Two projects of one run publish the same package name. */
export function samePackageNameError(first: string, second: string, name: string): LockstepError {
  return new LockstepError(ErrorCodes.EPACK, `Projects ${first} and ${second} both publish ${name}.`, {
    hint: 'Give each package its own name, or remove the publish target from one of the projects.',
  });
}
