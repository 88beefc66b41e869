/**
 * What the @lockstep/nx plugin infers for one project root, as a pure
 * function of the files it found there and the plugin options (plugin.ts
 * finds the files, caches the results and talks to Nx).
 *
 * Deliberately light: no @lockstep/core, no npm libraries. Nx loads this on
 * every command that computes the project graph.
 */
import * as path from 'path';

export const PUBLISH_EXECUTOR = '@lockstep/nx:publish';
export const GENERATE_EXECUTOR = '@lockstep/nx:generate';

/** Convention files that give a project an inferred generate target, in order of preference. */
export const CONVENTION_FILES = ['lockstep.generate.js', 'lockstep.generate.cjs', 'lockstep.generate.mjs'] as const;

export const DEFAULT_GENERATE_OUT_DIR = 'dist/generated/{projectRoot}';

/** The options of the plugin entry in nx.json (`{ "plugin": "@lockstep/nx/plugin", "options": { … } }`). */
export interface LockstepPluginOptions {
  /** Name of the inferred publish target; `false` infers none. Default `publish`. */
  publishTargetName?: string | false;
  /** Name of the inferred target `nx release publish` runs; `false` infers none. Default `nx-release-publish`. */
  releasePublishTargetName?: string | false;
  /** Name of the inferred generate target; `false` infers none. Default `generate`. */
  generateTargetName?: string | false;
  /** outDir of inferred generate targets whose module exports no literal outDir; `{projectRoot}` is replaced. Default `dist/generated/{projectRoot}`. */
  generateOutDir?: string;
  /** Globs on project roots (`packages/*`, `libs/**`): only these projects get targets. Default: all. */
  include?: string | string[];
  /** Globs on project roots: these projects get no targets. */
  exclude?: string | string[];
}

export interface NormalizedPluginOptions {
  publishTargetName: string | false;
  releasePublishTargetName: string | false;
  generateTargetName: string | false;
  generateOutDir: string;
  include: string[];
  exclude: string[];
}

/** The files plugin.ts found at one project root. */
export interface ProjectRootFiles {
  /** Workspace-relative, posix; `.` for the workspace root. */
  root: string;
  /** The text of `<root>/package.json`, when there is one. */
  packageJson?: string;
  hasProjectJson: boolean;
  /** The text of `<root>/project.json`, when there is one (its generate targets with "stash" get their hold and stash targets). */
  projectJson?: string;
  /** The first convention file present (see CONVENTION_FILES) and its text. */
  conventionFile?: { name: string; source: string };
  /** Whether `<root>/package.json` is matched by the package manager's workspaces (what makes it an Nx project without project.json). */
  inPackageManagerWorkspaces: boolean;
}

/** A target as Nx takes it from a plugin (the subset used here). */
export interface InferredTarget {
  executor?: string;
  dependsOn?: string[];
  cache: boolean;
  inputs?: string[];
  outputs?: string[];
  options: Record<string, unknown>;
  metadata: { description: string; technologies: string[] };
}

export class PluginOptionsError extends Error {
  constructor(message: string) {
    super(`[lockstep] [EBADOPTIONS] @lockstep/nx plugin options in nx.json: ${message}`);
    this.name = 'PluginOptionsError';
  }
}

function targetName(value: unknown, key: string, fallback: string): string | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'string' || value.trim() === '' || /[\s:]/.test(value)) {
    throw new PluginOptionsError(`${key} must be a target name (no spaces or ':') or false, not ${JSON.stringify(value)}.`);
  }
  return value;
}

function globs(value: unknown, key: string): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const glob of list) {
    if (typeof glob !== 'string' || glob.trim() === '') throw new PluginOptionsError(`${key} must be a glob or a list of globs on project roots, not ${JSON.stringify(value)}.`);
  }
  return (list as string[]).map((glob) => glob.replace(/^\.\//, '').replace(/\/+$/, '') || '.');
}

/** Checks and completes the plugin options; throws PluginOptionsError naming the bad one. */
export function normalizePluginOptions(options: unknown): NormalizedPluginOptions {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new PluginOptionsError(`"options" must be an object, not ${JSON.stringify(options)}.`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  const known = ['publishTargetName', 'releasePublishTargetName', 'generateTargetName', 'generateOutDir', 'include', 'exclude'];
  const unknown = Object.keys(o).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new PluginOptionsError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${known.join(', ')}).`);

  const normalized: NormalizedPluginOptions = {
    publishTargetName: targetName(o.publishTargetName, 'publishTargetName', 'publish'),
    releasePublishTargetName: targetName(o.releasePublishTargetName, 'releasePublishTargetName', 'nx-release-publish'),
    generateTargetName: targetName(o.generateTargetName, 'generateTargetName', 'generate'),
    generateOutDir: DEFAULT_GENERATE_OUT_DIR,
    include: globs(o.include, 'include'),
    exclude: globs(o.exclude, 'exclude'),
  };
  if (o.generateOutDir !== undefined) {
    if (typeof o.generateOutDir !== 'string' || o.generateOutDir.trim() === '' || path.posix.isAbsolute(o.generateOutDir) || path.win32.isAbsolute(o.generateOutDir)) {
      throw new PluginOptionsError(`generateOutDir must be a workspace-relative directory such as "dist/generated/{projectRoot}", not ${JSON.stringify(o.generateOutDir)}.`);
    }
    normalized.generateOutDir = o.generateOutDir;
  }
  const names = [normalized.publishTargetName, normalized.releasePublishTargetName, normalized.generateTargetName].filter((n): n is string => n !== false);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new PluginOptionsError(`two inferred targets would both be named "${twice}": give publishTargetName, releasePublishTargetName and generateTargetName different names.`);
  return normalized;
}

/** The manifest fields that make a package publishable: a name and a version, and not private. */
export function isPublishable(packageJsonText: string | undefined): boolean {
  if (packageJsonText === undefined) return false;
  let manifest: unknown;
  try {
    manifest = JSON.parse(packageJsonText);
  } catch {
    // Nx's own package.json plugin reports the syntax error; a manifest npm cannot read publishes nothing.
    return false;
  }
  if (!manifest || typeof manifest !== 'object') return false;
  const { name, version, private: isPrivate } = manifest as Record<string, unknown>;
  return typeof name === 'string' && name.trim() !== '' && typeof version === 'string' && version.trim() !== '' && !isPrivate;
}

/**
 * The outDir a generator module states as a string literal at top level
 * (`exports.outDir = '…'`, `module.exports.outDir = '…'`, `export const
 * outDir = '…'`), read as text: the module is never run at graph time, since
 * Nx computes the graph for every command and a generator may be slow or have
 * side effects. Anything else (computed, imported, in an object literal)
 * is not seen; then generateOutDir applies.
 */
export function staticOutDir(source: string): string | undefined {
  const pattern = /^[ \t]*(?:(?:module\.)?exports\.outDir|export[ \t]+(?:const|let|var)[ \t]+outDir)[ \t]*=[ \t]*(?:'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\$\n]*)`)/m;
  const match = pattern.exec(source);
  const value = match ? (match[1] ?? match[2] ?? match[3]) : undefined;
  if (value === undefined || value.trim() === '') return undefined;
  return value.trim();
}

/** `generateOutDir` for a project root: `{projectRoot}` replaced, normalized, posix. */
export function interpolateOutDir(template: string, root: string): string {
  const replaced = template.split('{projectRoot}').join(root === '.' ? '' : root);
  return path.posix.normalize(replaced.replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
}

/**
 * Whether `root` is selected by `include` (none means all) and not by
 * `exclude`. `matches(root, glob)` is the glob matcher (minimatch in plugin.ts).
 */
export function isSelected(root: string, options: Pick<NormalizedPluginOptions, 'include' | 'exclude'>, matches: (root: string, glob: string) => boolean): boolean {
  if (options.include.length > 0 && !options.include.some((glob) => matches(root, glob))) return false;
  return !options.exclude.some((glob) => matches(root, glob));
}

/**
 * The targets inferred for one project root, or undefined when it gets none.
 * A root is a project when it has a project.json, or a package.json in the
 * package manager's workspaces (the same rule as Nx's own package.json
 * plugin): the plugin never creates a project Nx would not have.
 */
export function inferTargets(files: ProjectRootFiles, options: NormalizedPluginOptions): Record<string, InferredTarget> | undefined {
  const isProject = files.hasProjectJson || (files.packageJson !== undefined && files.inPackageManagerWorkspaces);
  if (!isProject) return undefined;
  const targets: Record<string, InferredTarget> = {};

  if (isPublishable(files.packageJson)) {
    for (const name of [options.publishTargetName, options.releasePublishTargetName]) {
      if (name === false) continue;
      targets[name] = {
        executor: PUBLISH_EXECUTOR,
        dependsOn: [`^${name}`],
        cache: false,
        options: {},
        metadata: {
          description: 'Publish this package with lockstep: after its dependencies, exactly once per version, resumable, under the release lock.',
          technologies: ['lockstep', 'npm'],
        },
      };
    }
  }

  if (files.conventionFile && options.generateTargetName !== false) {
    const { name, source } = files.conventionFile;
    const generator = files.root === '.' ? name : `${files.root}/${name}`;
    const outDir = staticOutDir(source) ?? interpolateOutDir(options.generateOutDir, files.root);
    Object.assign(
      targets,
      stashedGenerateTargets(options.generateTargetName, {
        options: { generator, outDir, stash: stashDirOf(outDir) },
        inputs: ['default', `{projectRoot}/${name}`],
        description: `Run ${generator} and bring ${outDir} up to date atomically, under lockstep's single-flight lock (cached in Nx through a stash)`,
      }),
    );
  }

  for (const [name, target] of handWrittenStashTargets(files)) {
    if (targets[name]) continue;
    Object.assign(targets, stashedGenerateTargets(name, { options: target.options, inputs: target.inputs, description: `Bring ${String(target.options.outDir)} up to date from its stash` }, false));
  }
  return Object.keys(targets).length > 0 ? targets : undefined;
}

/** The stash of an outDir: a hidden sibling, `.<name>.lockstep-stash` (as @lockstep/core's defaultStashDir). */
export function stashDirOf(outDir: string): string {
  const normalized = outDir.replace(/\\/g, '/').replace(/\/+$/, '');
  const parent = path.posix.dirname(normalized);
  const name = `.${path.posix.basename(normalized)}.lockstep-stash`;
  return parent === '.' ? name : `${parent}/${name}`;
}

export const HOLD_SUFFIX = '--hold';
export const STASH_SUFFIX = '--stash';

/**
 * A generate target cached without a gap: `<name>--hold` (not cached) takes
 * outDir's lock for the Nx run, `<name>--stash` (cached: its outputs are the
 * stash) generates into the stash or has Nx restore it, and `<name>` (not
 * cached) brings outDir up to date from the stash and releases the lock.
 * Users depend on `<name>` and run it, as before. `full`: the target `<name>`
 * is inferred whole (executor and options); otherwise it is a hand-written
 * target that only gains `dependsOn` and `cache: false`.
 */
export function stashedGenerateTargets(
  name: string,
  base: { options: Record<string, unknown>; inputs?: unknown[]; description: string },
  full = true,
): Record<string, InferredTarget> {
  const technologies = ['lockstep'];
  // The stash task's outputs are '{options.stash}': it must name the directory ("stash": true would be the path 'true').
  const stash = typeof base.options.stash === 'string' ? base.options.stash : stashDirOf(String(base.options.outDir ?? '.'));
  const phaseOptions = (phase: string) => ({ ...base.options, stash, phase });
  return {
    [`${name}${HOLD_SUFFIX}`]: {
      executor: GENERATE_EXECUTOR,
      cache: false,
      options: phaseOptions('hold'),
      metadata: { description: `Hold the outDir of ${name} for this nx run (lockstep; the first step of ${name})`, technologies },
    },
    [`${name}${STASH_SUFFIX}`]: {
      executor: GENERATE_EXECUTOR,
      dependsOn: [`${name}${HOLD_SUFFIX}`],
      cache: true,
      ...(base.inputs ? { inputs: base.inputs as string[] } : {}),
      outputs: ['{options.stash}'],
      options: phaseOptions('stash'),
      metadata: { description: `Generate the stash of ${name}: what Nx caches and restores (lockstep)`, technologies },
    },
    [name]: {
      ...(full ? { executor: GENERATE_EXECUTOR } : {}),
      dependsOn: [`${name}${STASH_SUFFIX}`],
      cache: false,
      options: full ? { ...base.options } : {},
      metadata: { description: `${base.description}.`, technologies },
    },
  };
}

/** The targets of project.json that run lockstep's generate with "stash" (and set no phase themselves). */
function handWrittenStashTargets(files: ProjectRootFiles): Array<[string, { options: Record<string, unknown>; inputs?: unknown[] }]> {
  if (files.projectJson === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(files.projectJson);
  } catch {
    // Nx reports project.json's syntax error itself.
    return [];
  }
  const targets = (parsed as { targets?: unknown } | null)?.targets;
  if (!targets || typeof targets !== 'object') return [];
  const out: Array<[string, { options: Record<string, unknown>; inputs?: unknown[] }]> = [];
  for (const [name, raw] of Object.entries(targets as Record<string, unknown>)) {
    const target = raw as { executor?: unknown; options?: Record<string, unknown>; inputs?: unknown } | null;
    if (!target || target.executor !== GENERATE_EXECUTOR || !target.options || typeof target.options !== 'object') continue;
    if (!target.options.stash || target.options.phase !== undefined) continue;
    out.push([name, { options: target.options, inputs: Array.isArray(target.inputs) ? target.inputs : undefined }]);
  }
  return out;
}
