import { readFileSync } from 'fs';
import { validRange } from 'semver';
import * as path from 'path';
import type { LockstepError } from '../errors';
import { projectManifestNotJsonError, projectManifestNotObjectError, projectManifestUnnamedError, projectWithoutManifestError, samePackageNameError } from './errors';
import { ReleasePackage } from '../publish/types';
import { INSTALLED_FIELDS, internalDependency, readSpec } from './internal-spec';

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

export function resolvePackageRoot(project: ProjectInfo, workspaceRoot: string): string {
  const template = project.packageRoot ?? project.root;
  const relative = template.replace(/\{projectRoot\}/g, project.root).replace(/\{projectName\}/g, project.name);
  return path.resolve(workspaceRoot, relative);
}

/** A project of the run whose package cannot be read (G6 reports it with the run's other problems). */
export interface WorkspaceProblem {
  /** `project <name>`, or `name@version` when the manifest was read. */
  subject: string;
  error: LockstepError;
}

export interface ScannedWorkspace extends WorkspacePackages {
  /** Every manifest problem found, in project order; never thrown by scanWorkspacePackages. */
  problems: WorkspaceProblem[];
}

/**
 * Reads the package.json of every project's package root. Projects without
 * one are not packages, unless `required` names them (the run's projects):
 * then it is EPACK with a hint. Throws the first problem; see
 * scanWorkspacePackages for all of them.
 */
export function readWorkspacePackages(projects: ProjectInfo[], workspaceRoot: string, required: ReadonlySet<string>): WorkspacePackages {
  const scanned = scanWorkspacePackages(projects, workspaceRoot, required);
  if (scanned.problems.length > 0) throw scanned.problems[0].error;
  return { byProject: scanned.byProject, versions: scanned.versions };
}

/**
 * readWorkspacePackages that collects instead of throwing: a project of the
 * run without a readable manifest (no package.json, invalid JSON, no name or
 * version, a name another project of the run also publishes) and invalid
 * JSON anywhere are listed in `problems`; such a project is left out of
 * byProject. Also records, per package, why it depends on each workspace
 * package (for cycle messages) and its install-time ranges that resolve on
 * the registry instead of the workspace.
 */
export function scanWorkspacePackages(projects: ProjectInfo[], workspaceRoot: string, required: ReadonlySet<string>): ScannedWorkspace {
  const problems: WorkspaceProblem[] = [];
  const manifests = new Map<string, { dir: string; manifest: Record<string, any> }>();
  for (const project of projects) {
    const subject = `project ${project.name}`;
    const dir = resolvePackageRoot(project, workspaceRoot);
    const file = path.join(dir, 'package.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      if (!required.has(project.name)) continue;
      problems.push({
        subject,
        error: projectWithoutManifestError(project.name, path.relative(workspaceRoot, dir), project.packageRoot),
      });
      continue;
    }
    let manifest: Record<string, any>;
    try {
      manifest = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (error) {
      problems.push({
        subject,
        error: projectManifestNotJsonError(path.relative(workspaceRoot, file), (error as Error).message),
      });
      continue;
    }
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
      problems.push({ subject, error: projectManifestNotObjectError(path.relative(workspaceRoot, file)) });
      continue;
    }
    if (required.has(project.name) && (typeof manifest.name !== 'string' || manifest.name === '' || typeof manifest.version !== 'string' || manifest.version === '')) {
      problems.push({
        subject,
        error: projectManifestUnnamedError(path.relative(workspaceRoot, file)),
      });
      continue;
    }
    if (typeof manifest.name === 'string') manifests.set(project.name, { dir, manifest });
  }
  // Two projects of the run publishing one name: the second is refused, whichever it is.
  const publishedBy = new Map<string, string>();
  for (const [project, { manifest }] of manifests) {
    if (!required.has(project)) continue;
    const other = publishedBy.get(manifest.name);
    if (other === undefined) {
      publishedBy.set(manifest.name, project);
      continue;
    }
    manifests.delete(project);
    problems.push({
      subject: `project ${project}`,
      error: samePackageNameError(other, project, manifest.name),
    });
  }
  const versions = new Map<string, string>();
  for (const { manifest } of manifests.values()) if (typeof manifest.version === 'string') versions.set(manifest.name, manifest.version);
  const byProject = new Map<string, ReleasePackage>();
  for (const [project, { dir, manifest }] of manifests) {
    const internalDeps = new Set<string>();
    const depReasons: Record<string, string> = {};
    const registryRanges: NonNullable<ReleasePackage['registryRanges']> = [];
    for (const field of INSTALLED_FIELDS) {
      const deps = manifest[field];
      if (typeof deps !== 'object' || deps === null || Array.isArray(deps)) continue;
      for (const [dep, rawSpec] of Object.entries<unknown>(deps)) {
        const spec = String(rawSpec);
        // The package a spec means (an alias names another): the same reading the packed manifest's rewrite makes.
        const internal = internalDependency(dep, spec, versions);
        if (internal !== undefined) {
          if (internal === manifest.name) continue;
          internalDeps.add(internal);
          depReasons[internal] ??= `${field}["${dep}"] is "${spec}"`;
          continue;
        }
        const meaning = readSpec(dep, spec, { isWorkspacePackage: (name) => versions.has(name) });
        if (meaning.via === 'registry' && !meaning.tag && meaning.name !== manifest.name && versions.has(meaning.name) && validRange(meaning.range) !== null) {
          registryRanges.push({ name: meaning.name, field, range: meaning.range });
        }
      }
    }
    byProject.set(project, {
      name: manifest.name,
      version: String(manifest.version ?? '0.0.0'),
      dir,
      private: manifest.private === true,
      internalDeps: [...internalDeps].sort(),
      project,
      depReasons,
      ...(registryRanges.length > 0 ? { registryRanges } : {}),
      ...(manifest.publishConfig !== undefined ? { publishConfig: manifest.publishConfig } : {}),
    });
  }
  return { byProject, versions, problems };
}
