import * as path from 'path';
import { LockstepError } from '../errors';
import { SpecSite, badWorkspaceSpecError, unknownWorkspacePackageError, workspaceVersionUnknownError } from './errors';
import { npa } from './npm-libs';

/** The manifest fields whose internal specs are rewritten, in npm's order. */
export const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

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

  if (spec.startsWith('workspace:')) {
    const rest = spec.slice('workspace:'.length).trim();
    if (rest === '') throw badWorkspaceSpecError(site, 'it names no range', 'Write "workspace:*", "workspace:^", "workspace:~" or "workspace:<range>".');
    if (isPathSpec(rest)) {
      const target = packageAtPath(rest, options) ?? (versionOf(dep) !== undefined ? dep : undefined);
      if (target === undefined) throw unknownWorkspacePackageError(site, rest, true);
      return aliased(dep, target, versionOf(target)!);
    }
    const alias = /^((?:@[^/@\s]+\/)?[^/@\s]+)@(.*)$/.exec(rest);
    const target = alias ? alias[1] : dep;
    const range = alias ? alias[2].trim() : rest;
    const version = versionOf(target);
    if (version === undefined) throw unknownWorkspacePackageError(site, target);
    if (range === '') throw badWorkspaceSpecError(site, `it names no range after "${target}@"`, `Write "workspace:${target}@*" or "workspace:${target}@^".`);
    if (!/^[\d^~<>=*xXvV\s]/.test(range)) {
      throw badWorkspaceSpecError(site, `"${range}" is neither a version range nor <name>@<range>`, 'Write "workspace:*", "workspace:^", "workspace:~", "workspace:<range>" or "workspace:<name>@<range>".');
    }
    return aliased(dep, target, range === '*' ? version : range === '^' || range === '~' ? `${range}${version}` : range);
  }

  if (spec.startsWith('file:') || spec.startsWith('link:')) {
    if (options.packageDir !== undefined && options.workspaceDirs !== undefined) {
      const target = packageAtPath(spec, options);
      return target === undefined ? spec : aliased(dep, target, versionOf(target) ?? missingVersion(site, target));
    }
    const version = versionOf(dep);
    return version === undefined ? spec : version;
  }
  return spec;
}

/** `1.2.3` under its own name, `npm:<target>@1.2.3` under another dependency name. */
function aliased(dep: string, target: string, rangeOrVersion: string): string {
  return dep === target ? rangeOrVersion : `npm:${target}@${rangeOrVersion}`;
}

function isPathSpec(rest: string): boolean {
  return rest.startsWith('.') || rest.startsWith('/') || rest.startsWith('~/') || /^[a-zA-Z]:[\\/]/.test(rest);
}

/** The workspace package whose folder a path spec (`file:`, `link:`, `workspace:` or bare) points at. */
function packageAtPath(spec: string, options: RewriteManifestOptions): string | undefined {
  if (options.packageDir === undefined || options.workspaceDirs === undefined) return undefined;
  const target = resolveSpecPath(spec, options.packageDir);
  for (const [name, dir] of options.workspaceDirs) {
    if (path.resolve(dir) === target) return name;
  }
  return undefined;
}

function resolveSpecPath(spec: string, packageDir: string): string {
  const raw = spec.replace(/^(?:file|link|workspace):/, '');
  if (spec.startsWith('file:')) {
    try {
      // npm's own reading of file: specs (file:../x, file:///abs, file:~/x).
      const fetchSpec = npa().resolve('x', spec, packageDir).fetchSpec;
      if (fetchSpec) return path.resolve(fetchSpec);
    } catch {
      // not a spec npm understands: resolve it as a plain path below
    }
  }
  return path.resolve(packageDir, raw);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function missingVersion(site: SpecSite, target: string): never {
  throw workspaceVersionUnknownError(site, target);
}
