import * as path from 'path';
import { satisfies, validRange } from 'semver';
import { npa } from '../pack/npm-libs';

/**
 * What a dependency spec of a manifest means, read once for everything that
 * asks: the release order (workspace-packages.ts: is it an internal
 * dependency?) and the packed manifest (pack/rewrite-manifest.ts: what does
 * it become?), so the two can never disagree. npm's own reader
 * (npm-package-arg) reads every spec npm knows, including `npm:` aliases;
 * the workspace protocols it does not know (`workspace:`, `link:`) are read
 * here; semver matches ranges against workspace versions.
 */

/** The manifest fields that hold dependency specs, in npm's order. */
export const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;
export type DependencyField = (typeof DEPENDENCY_FIELDS)[number];

/** The fields a consumer's install resolves (all but devDependencies): only these order a release or must install from a registry. */
export const INSTALLED_FIELDS: readonly DependencyField[] = DEPENDENCY_FIELDS.filter((field) => field !== 'devDependencies');

export type SpecMeaning =
  /** `workspace:`, or a `file:`/`link:` path, naming workspace package `name`: packed as its version (`range`: what `workspace:` wrote, if a range). */
  | { via: 'workspace'; name: string; range?: string }
  /** A `workspace:` spec that names no workspace package (`target`: the name or path it names). */
  | { via: 'unknown'; target: string; byPath: boolean }
  /** A `workspace:` spec that cannot be read. */
  | { via: 'invalid'; why: string; hint: string }
  /** A version, range or tag of `name` on the registry (an `npm:` alias names its real package). */
  | { via: 'registry'; name: string; range: string; tag: boolean }
  /** Anything else: git, URLs, tarballs, a path to no workspace package. */
  | { via: 'other' };

export interface SpecContext {
  /** Whether a name is a package of the workspace. */
  isWorkspacePackage(name: string): boolean;
  /** The package's own folder: relative path specs resolve against it. */
  packageDir?: string;
  /**
   * Folder of every workspace package by name. With `packageDir`, a path spec
   * means the package at that folder (even under another dependency name);
   * without them, a path spec means the workspace package of its dependency
   * name.
   */
  workspaceDirs?: ReadonlyMap<string, string>;
}

export function readSpec(dep: string, spec: string, ctx: SpecContext): SpecMeaning {
  if (spec.startsWith('workspace:')) return readWorkspaceSpec(dep, spec.slice('workspace:'.length).trim(), ctx);
  if (spec.startsWith('file:') || spec.startsWith('link:')) {
    if (ctx.packageDir !== undefined && ctx.workspaceDirs !== undefined) {
      const name = packageAtPath(spec, ctx);
      return name === undefined ? { via: 'other' } : { via: 'workspace', name };
    }
    return ctx.isWorkspacePackage(dep) ? { via: 'workspace', name: dep } : { via: 'other' };
  }
  let parsed;
  try {
    // A stand-in name: the dependency's own name may be one npm no longer accepts; the spec is what is read.
    parsed = npa().resolve('lockstep-dependency', spec);
  } catch {
    return { via: 'other' };
  }
  if (parsed.type === 'alias' && parsed.subSpec?.name) return registrySpec(parsed.subSpec.name, parsed.subSpec.type, parsed.subSpec.rawSpec);
  return registrySpec(dep, parsed.type, spec);
}

function registrySpec(name: string, type: string, raw: string): SpecMeaning {
  if (type === 'range' || type === 'version') return { via: 'registry', name, range: raw.trim(), tag: false };
  if (type === 'tag') return { via: 'registry', name, range: raw.trim(), tag: true };
  return { via: 'other' };
}

function readWorkspaceSpec(dep: string, rest: string, ctx: SpecContext): SpecMeaning {
  if (rest === '') return { via: 'invalid', why: 'it names no range', hint: 'Write "workspace:*", "workspace:^", "workspace:~" or "workspace:<range>".' };
  if (isPathSpec(rest)) {
    const name = packageAtPath(rest, ctx) ?? (ctx.isWorkspacePackage(dep) ? dep : undefined);
    return name === undefined ? { via: 'unknown', target: rest, byPath: true } : { via: 'workspace', name };
  }
  const alias = /^((?:@[^/@\s]+\/)?[^/@\s]+)@(.*)$/.exec(rest);
  const name = alias ? alias[1] : dep;
  const range = alias ? alias[2].trim() : rest;
  if (!ctx.isWorkspacePackage(name)) return { via: 'unknown', target: name, byPath: false };
  if (range === '') return { via: 'invalid', why: `it names no range after "${name}@"`, hint: `Write "workspace:${name}@*" or "workspace:${name}@^".` };
  if (!/^[\d^~<>=*xXvV\s]/.test(range)) {
    return {
      via: 'invalid',
      why: `"${range}" is neither a version range nor <name>@<range>`,
      hint: 'Write "workspace:*", "workspace:^", "workspace:~", "workspace:<range>" or "workspace:<name>@<range>".',
    };
  }
  return { via: 'workspace', name, range };
}

/**
 * The workspace package a dependency orders the release after, if any: one
 * the spec names through a workspace protocol, or a registry range or tag of
 * a workspace package that its workspace version satisfies (`"^0.9.0"` while
 * the workspace has 1.0.0 is the registry's 0.9.x: not internal).
 * `workspaceVersions`: every workspace package's version, by name.
 */
export function internalDependency(dep: string, spec: string, workspaceVersions: ReadonlyMap<string, string>): string | undefined {
  const meaning = readSpec(dep, spec, { isWorkspacePackage: (name) => workspaceVersions.has(name) });
  switch (meaning.via) {
    case 'workspace':
      return meaning.name;
    case 'invalid':
      // Refused by the preflight all the same; ordered as the package it is written under.
      return workspaceVersions.has(dep) ? dep : undefined;
    case 'registry': {
      const version = workspaceVersions.get(meaning.name);
      if (version === undefined) return undefined;
      if (meaning.tag) return meaning.range === 'latest' ? meaning.name : undefined;
      const internal = meaning.range === '' || meaning.range === '*' || (validRange(meaning.range) !== null && satisfies(version, meaning.range, { includePrerelease: true }));
      return internal ? meaning.name : undefined;
    }
    default:
      return undefined;
  }
}

function isPathSpec(rest: string): boolean {
  return rest.startsWith('.') || rest.startsWith('/') || rest.startsWith('~/') || /^[a-zA-Z]:[\\/]/.test(rest);
}

/** The workspace package whose folder a path spec (`file:`, `link:`, `workspace:` or bare) points at. */
function packageAtPath(spec: string, ctx: SpecContext): string | undefined {
  if (ctx.packageDir === undefined || ctx.workspaceDirs === undefined) return undefined;
  const target = resolveSpecPath(spec, ctx.packageDir);
  for (const [name, dir] of ctx.workspaceDirs) {
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
