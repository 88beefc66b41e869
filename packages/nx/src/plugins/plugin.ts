/**
 * The @lockstep/nx inference plugin (`createNodesV2`), registered in nx.json
 * by `nx add @lockstep/nx` (the init generator) as
 * `{ "plugin": "@lockstep/nx/plugin", "options": { … } }` (the package name
 * `@lockstep/nx` works too: its main exports the same function).
 *
 * - every project with a publishable package.json (a name and a version, not
 *   private) gets `publish` and `nx-release-publish` on @lockstep/nx:publish,
 *   each depending on the same target of its dependencies;
 * - a project with `lockstep.generate.{js,cjs,mjs}` next to its project.json
 *   or package.json gets a cached `generate` target running that module.
 *
 * Targets in project.json (or package.json's "nx") win: Nx merges them over
 * what plugins infer. Results are cached per project root in Nx's workspace
 * data directory, keyed by the plugin options and the hashes of the files
 * read (from Nx's own file index, so a hit reads nothing).
 */
import * as fs from 'fs';
import * as path from 'path';
import { createRequire } from 'module';
import { createNodesFromFiles, hashArray, type CreateNodesContextV2, type CreateNodesResult, type CreateNodesV2 } from '@nx/devkit';
import { CONVENTION_FILES, InferredTarget, LockstepPluginOptions, NormalizedPluginOptions, ProjectRootFiles, inferTargets, isSelected, normalizePluginOptions } from './infer-targets';

export type { LockstepPluginOptions } from './infer-targets';

const PROJECT_FILES = ['package.json', 'project.json'];
const WATCHED_FILES = [...PROJECT_FILES, ...CONVENTION_FILES];

/** The files the plugin looks at, at the workspace root and below. */
export const LOCKSTEP_PLUGIN_GLOB = `{${WATCHED_FILES.flatMap((name) => [name, `**/${name}`]).join(',')}}`;

/** Bumped when what is cached changes shape. */
const CACHE_FORMAT = 2;

type CachedTargets = Record<string, InferredTarget> | null;

// ---------------------------------------------------------------------------
// Nx internals, loaded defensively: they are not part of @nx/devkit's public
// API (Nx's own plugins use them the same way), and the plugin must still
// infer targets, only slower, if one moves.

interface NxInternals {
  workspaceDataDirectory?: string;
  workspaceDataDirectoryForWorkspace?: (root: string) => string;
  hashMultiGlobWithWorkspaceContext?: (root: string, globGroups: string[][]) => Promise<string[]>;
  getGlobPatternsFromPackageManagerWorkspaces?: (root: string) => string[];
}

let internals: NxInternals | undefined;
function nxInternals(): NxInternals {
  if (!internals) {
    internals = {};
    try {
      Object.assign(internals, pick(require('nx/src/utils/cache-directory'), ['workspaceDataDirectory', 'workspaceDataDirectoryForWorkspace']));
    } catch {
      /* no cache then */
    }
    try {
      Object.assign(internals, pick(require('nx/src/devkit-internals'), ['hashMultiGlobWithWorkspaceContext', 'getGlobPatternsFromPackageManagerWorkspaces']));
    } catch {
      /* no cache, and the fallback workspaces reader */
    }
  }
  return internals;
}

function pick(mod: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => mod[k] !== undefined).map((k) => [k, mod[k]]));
}

type Minimatch = (target: string, pattern: string, options?: { dot?: boolean }) => boolean;
let minimatchFn: Minimatch | undefined;
/** minimatch as @nx/devkit (our peer dependency) depends on it: the same matcher Nx uses, and no dependency of our own. */
function minimatch(): Minimatch {
  if (!minimatchFn) {
    let mod: unknown;
    try {
      mod = createRequire(require.resolve('@nx/devkit/package.json'))('minimatch');
    } catch {
      mod = require('minimatch');
    }
    const fn = typeof mod === 'function' ? mod : (mod as { minimatch?: unknown }).minimatch;
    if (typeof fn !== 'function') throw new Error('[lockstep] minimatch (a dependency of @nx/devkit) could not be loaded.');
    minimatchFn = fn as Minimatch;
  }
  return minimatchFn;
}

const matchesGlob = (root: string, glob: string) => minimatch()(root, glob, { dot: true });

/**
 * Which package.json files Nx makes projects of without a project.json: those
 * matched by the package manager's workspaces (package.json "workspaces",
 * pnpm-workspace.yaml, lerna.json), the root one only with an "nx" field.
 */
function packageManagerWorkspacesMatcher(workspaceRoot: string): (packageJsonPath: string) => boolean {
  let patterns: string[];
  const read = nxInternals().getGlobPatternsFromPackageManagerWorkspaces;
  if (read) {
    patterns = read(workspaceRoot);
  } else {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(workspaceRoot, 'package.json'), 'utf8'));
      const list: string[] = Array.isArray(manifest.workspaces) ? manifest.workspaces : (manifest.workspaces?.packages ?? []);
      patterns = list.map((p) => p.replace(/^\.\//, '').replace(/\/$/, '')).map((p) => (p.endsWith('package.json') ? p : `${p}/package.json`));
      if (manifest.nx) patterns.push('package.json');
    } catch {
      patterns = [];
    }
  }
  const positive = patterns.filter((p) => !p.startsWith('!'));
  const negative = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  // As Nx does: negative patterns alone mean "every package.json but these".
  if (negative.length > 0 && (positive.length === 0 || (positive.length === 1 && positive[0] === 'package.json'))) positive.push('**/package.json');
  const mm = minimatch();
  return (file) => positive.some((p) => p === file || mm(file, p)) && !negative.some((p) => p === file || mm(file, p));
}

// ---------------------------------------------------------------------------
// The cache

function cachePathFor(workspaceRoot: string, options: NormalizedPluginOptions): string | undefined {
  const { workspaceDataDirectory, workspaceDataDirectoryForWorkspace } = nxInternals();
  const dir = workspaceDataDirectoryForWorkspace ? workspaceDataDirectoryForWorkspace(workspaceRoot) : workspaceDataDirectory;
  if (!dir) return undefined;
  return path.join(dir, `lockstep-${hashArray([JSON.stringify(options)])}.hash`);
}

function readCache(file: string | undefined): Record<string, CachedTargets> {
  if (!file) return {};
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** Temp file + rename: another nx process reading the cache sees the old file or the new one, never a torn one. */
function writeCache(file: string, entries: Record<string, CachedTargets>): void {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(temp, JSON.stringify(entries));
    fs.renameSync(temp, file);
  } catch {
    // A cache that cannot be written only costs time next run.
    try {
      fs.rmSync(temp, { force: true });
    } catch {
      /* ignore */
    }
  }
}

/** Per root, a hash of every file the inference reads there (from Nx's file index: nothing is read), or undefined without one. */
async function hashRoots(workspaceRoot: string, roots: string[]): Promise<Array<string | undefined>> {
  const hashMulti = nxInternals().hashMultiGlobWithWorkspaceContext;
  if (!hashMulti || roots.length === 0) return roots.map(() => undefined);
  try {
    const hashes = await hashMulti(workspaceRoot, roots.map((root) => WATCHED_FILES.map((name) => (root === '.' ? name : `${root}/${name}`))));
    return hashes.length === roots.length ? hashes : roots.map(() => undefined);
  } catch {
    return roots.map(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// The plugin

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

function readRootFiles(workspaceRoot: string, root: string, names: Set<string>, inWorkspaces: boolean): ProjectRootFiles {
  const abs = (name: string) => path.join(workspaceRoot, root, name);
  const conventionName = CONVENTION_FILES.find((name) => names.has(name));
  const conventionSource = conventionName !== undefined ? readIfExists(abs(conventionName)) : undefined;
  return {
    root,
    packageJson: names.has('package.json') ? readIfExists(abs('package.json')) : undefined,
    hasProjectJson: names.has('project.json'),
    projectJson: names.has('project.json') ? readIfExists(abs('project.json')) : undefined,
    conventionFile: conventionName !== undefined && conventionSource !== undefined ? { name: conventionName, source: conventionSource } : undefined,
    inPackageManagerWorkspaces: inWorkspaces,
  };
}

/**
 * Infers the targets of every project root among `configFiles` (paths
 * relative to the workspace root that match LOCKSTEP_PLUGIN_GLOB).
 */
export async function createLockstepNodes(configFiles: readonly string[], rawOptions: LockstepPluginOptions | undefined, context: CreateNodesContextV2) {
  const options = normalizePluginOptions(rawOptions);
  const workspaceRoot = context.workspaceRoot;

  // Group the files by directory: one project root per directory with a package.json or project.json.
  const byRoot = new Map<string, Set<string>>();
  for (const file of configFiles) {
    const posix = file.replace(/\\/g, '/');
    const root = path.posix.dirname(posix);
    if (!byRoot.has(root)) byRoot.set(root, new Set());
    byRoot.get(root)!.add(path.posix.basename(posix));
  }
  const roots = [...byRoot.keys()]
    .filter((root) => PROJECT_FILES.some((name) => byRoot.get(root)!.has(name)))
    .filter((root) => isSelected(root, options, matchesGlob))
    .sort();
  const representative = (root: string) => {
    const names = byRoot.get(root)!;
    const name = names.has('project.json') ? 'project.json' : 'package.json';
    return root === '.' ? name : `${root}/${name}`;
  };

  const inWorkspaces = packageManagerWorkspacesMatcher(workspaceRoot);
  const cachePath = cachePathFor(workspaceRoot, options);
  const cache = readCache(cachePath);
  const hashes = await hashRoots(workspaceRoot, roots);
  const fresh: Record<string, CachedTargets> = {};

  const rootOf = new Map(roots.map((root, i) => [representative(root), i]));
  try {
    return await createNodesFromFiles(
      (file: string): CreateNodesResult => {
        const i = rootOf.get(file)!;
        const root = roots[i];
        const names = byRoot.get(root)!;
        const inWs = names.has('package.json') && inWorkspaces(root === '.' ? 'package.json' : `${root}/package.json`);
        const key = hashes[i] !== undefined ? hashArray([String(CACHE_FORMAT), hashes[i]!, root, inWs ? 'ws' : '-']) : undefined;
        let targets: CachedTargets | undefined = key !== undefined && key in cache ? cache[key] : undefined;
        if (targets === undefined) targets = inferTargets(readRootFiles(workspaceRoot, root, names, inWs), options) ?? null;
        if (key !== undefined) fresh[key] = targets;
        return targets ? { projects: { [root]: { root, targets } } } : {};
      },
      roots.map(representative),
      options,
      context,
    );
  } finally {
    // Keep exactly the entries of this graph: the file never grows beyond the workspace.
    const changed = Object.keys(fresh).length !== Object.keys(cache).length || Object.keys(fresh).some((k) => !(k in cache));
    if (cachePath && changed) writeCache(cachePath, fresh);
  }
}

export const createNodesV2: CreateNodesV2<LockstepPluginOptions> = [LOCKSTEP_PLUGIN_GLOB, createLockstepNodes];
