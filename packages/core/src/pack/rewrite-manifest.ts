import { LockstepError } from '../errors';
import { DEPENDENCY_FIELDS, readSpec } from '../manifest/internal-spec';
import { SpecSite, badWorkspaceSpecError, unknownWorkspacePackageError, workspaceVersionUnknownError } from './errors';

export interface RewriteManifestOptions {
  /** Versions of the packages released in this run: what their internal specs become. */
  releaseVersions: ReadonlyMap<string, string>;
  /** Current versions of the other workspace packages (not released in this run). */
  workspaceVersions: ReadonlyMap<string, string>;
  /** The package's own folder: relative `file:`, `link:` and `workspace:<path>` specs resolve against it. */
  packageDir?: string;
  /**
   * Folder of every workspace package by name. With `packageDir`, a path spec
   * is internal when it points at one of these folders (even under another
   * dependency name, which becomes an `npm:` alias). Without them, a path spec
   * is internal when its dependency name is a workspace package.
   */
  workspaceDirs?: ReadonlyMap<string, string>;
  /**
   * Collect instead of throw: a spec that cannot be rewritten (EWORKSPACEDEP)
   * is pushed here and kept as it is, so one pass finds every bad spec of the
   * manifest (the publish preflight). Without it the first one throws.
   */
  problems?: LockstepError[];
}

/**
 * Returns a copy of `manifest` whose internal dependency specs are the real
 * versions a registry can resolve:
 *   workspace:*  → 1.2.3        workspace:^ → ^1.2.3     workspace:~ → ~1.2.3
 *   workspace:<range> → <range>  workspace:<name>@<any of these> → npm:<name>@…
 *   workspace:<path>, file:<path>, link:<path> to a workspace package → 1.2.3
 * A version comes from releaseVersions, else workspaceVersions. Everything
 * else (other fields, external specs, key order) is kept; nothing is dropped.
 * A `workspace:` spec naming no workspace package is EWORKSPACEDEP.
 */
export function rewriteManifest<T extends Record<string, unknown>>(manifest: T, options: RewriteManifestOptions): T {
  const owner = typeof manifest.name === 'string' && manifest.name ? manifest.name : '(unnamed package)';
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(manifest)) {
    out[key] = (DEPENDENCY_FIELDS as readonly string[]).includes(key) && isPlainObject(value) ? rewriteField(owner, key, value, options) : value;
  }
  return out as T;
}

function rewriteField(owner: string, field: string, deps: Record<string, unknown>, options: RewriteManifestOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [dep, spec] of Object.entries(deps)) {
    if (typeof spec !== 'string') {
      out[dep] = spec;
      continue;
    }
    try {
      out[dep] = rewriteSpec({ owner, field, dep, spec }, options);
    } catch (error) {
      if (options.problems === undefined || !(error instanceof LockstepError)) throw error;
      options.problems.push(error);
      out[dep] = spec;
    }
  }
  return out;
}

function rewriteSpec(site: SpecSite, options: RewriteManifestOptions): string {
  const { dep, spec } = site;
  const versionOf = (name: string) => options.releaseVersions.get(name) ?? options.workspaceVersions.get(name);
  // One reading of the spec (manifest/internal-spec.ts), the same one that orders the release.
  const meaning = readSpec(dep, spec, { isWorkspacePackage: (name) => versionOf(name) !== undefined, packageDir: options.packageDir, workspaceDirs: options.workspaceDirs });
  switch (meaning.via) {
    case 'invalid':
      throw badWorkspaceSpecError(site, meaning.why, meaning.hint);
    case 'unknown':
      throw unknownWorkspacePackageError(site, meaning.target, meaning.byPath);
    case 'workspace': {
      const version = versionOf(meaning.name);
      if (version === undefined) throw workspaceVersionUnknownError(site, meaning.name);
      const { range } = meaning;
      return aliased(dep, meaning.name, range === undefined || range === '*' ? version : range === '^' || range === '~' ? `${range}${version}` : range);
    }
    default:
      return spec;
  }
}

/** `1.2.3` under its own name, `npm:<target>@1.2.3` under another dependency name. */
function aliased(dep: string, target: string, rangeOrVersion: string): string {
  return dep === target ? rangeOrVersion : `npm:${target}@${rangeOrVersion}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
