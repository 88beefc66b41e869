import { readFileSync } from 'fs';
import { satisfies, validRange } from 'semver';
import * as path from 'path';
import { ErrorCodes, LockstepError, ReleasePackage } from '@lockstep/core';

export interface ProjectInfo {
  name: string;
  root: string;
  /** The publish target's packageRoot option, if any. */
  packageRoot?: string;
}

export interface WorkspacePackages {
  /** By Nx project name. */
  byProject: Map<string, ReleasePackage>;
  /** Versions of every workspace package, by package name. */
  versions: Map<string, string>;
}

const RUNTIME_DEP_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;

/**
 * Whether a dependency spec means the workspace package (and so orders the
 * release): workspace:, file:, link:, or a range the workspace version
 * satisfies. `"^0.9.0"` while the workspace has 1.0.0 is the registry's 0.9.x.
 */
export function isInternalSpec(spec: string, workspaceVersion: string): boolean {
  if (/^(workspace|file|link):/.test(spec)) return true;
  if (spec === '*' || spec === '' || spec === 'latest') return true;
  return validRange(spec) !== null && satisfies(workspaceVersion, spec, { includePrerelease: true });
}

export function resolvePackageRoot(project: ProjectInfo, workspaceRoot: string): string {
  const template = project.packageRoot ?? project.root;
  const relative = template.replace(/\{projectRoot\}/g, project.root).replace(/\{projectName\}/g, project.name);
  return path.resolve(workspaceRoot, relative);
}

/**
 * Reads the package.json of every project's package root. Projects without
 * one are not packages, unless `required` names them (the run's projects):
 * then it is EPACK with a hint.
 */
export function readWorkspacePackages(projects: ProjectInfo[], workspaceRoot: string, required: ReadonlySet<string>): WorkspacePackages {
  const manifests = new Map<string, { dir: string; manifest: Record<string, any> }>();
  for (const project of projects) {
    const dir = resolvePackageRoot(project, workspaceRoot);
    const file = path.join(dir, 'package.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      if (!required.has(project.name)) continue;
      throw new LockstepError(ErrorCodes.EPACK, `Project ${project.name} has no package.json in ${path.relative(workspaceRoot, dir) || '.'}.`, {
        hint: project.packageRoot
          ? `packageRoot is "${project.packageRoot}": make the publish target dependsOn the target that fills it (e.g. "generate").`
          : 'Add a package.json to the project, or set packageRoot to the folder to publish.',
      });
    }
    let manifest: Record<string, any>;
    try {
      manifest = JSON.parse(text);
    } catch (error) {
      throw new LockstepError(ErrorCodes.EPACK, `${path.relative(workspaceRoot, file)} is not valid JSON: ${(error as Error).message}`, { hint: 'Fix the file and run again.' });
    }
    if (required.has(project.name) && (typeof manifest.name !== 'string' || typeof manifest.version !== 'string')) {
      throw new LockstepError(ErrorCodes.EPACK, `${path.relative(workspaceRoot, file)} needs a name and a version to be published.`, {
        hint: 'Set "name" and "version", or mark the package "private": true.',
      });
    }
    if (typeof manifest.name === 'string') manifests.set(project.name, { dir, manifest });
  }
  const versions = new Map<string, string>();
  for (const { manifest } of manifests.values()) if (typeof manifest.version === 'string') versions.set(manifest.name, manifest.version);
  const byProject = new Map<string, ReleasePackage>();
  for (const [project, { dir, manifest }] of manifests) {
    const internalDeps = new Set<string>();
    for (const field of RUNTIME_DEP_FIELDS) {
      for (const [dep, spec] of Object.entries<string>(manifest[field] ?? {})) {
        if (versions.has(dep) && dep !== manifest.name && isInternalSpec(String(spec), versions.get(dep)!)) internalDeps.add(dep);
      }
    }
    byProject.set(project, {
      name: manifest.name,
      version: String(manifest.version ?? '0.0.0'),
      dir,
      private: manifest.private === true,
      internalDeps: [...internalDeps].sort(),
      project,
    });
  }
  return { byProject, versions };
}
