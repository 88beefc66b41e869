import { promises as fsp } from 'fs';
import * as path from 'path';
import { LockstepError } from '../errors';
import { mapLimit } from '../util/map-limit';
import { bundleDependenciesError, packListError, packReadError } from './errors';
import { packlist } from './npm-libs';
import { Manifest, SourceManifest, readPackageManifest } from './read-manifest';
import { RewriteManifestOptions, rewriteManifest } from './rewrite-manifest';

export interface StageOptions {
  releaseVersions: ReadonlyMap<string, string>;
  workspaceVersions: ReadonlyMap<string, string>;
  /** See RewriteManifestOptions.workspaceDirs: lets file:/link: specs be matched by the folder they point at. */
  workspaceDirs?: RewriteManifestOptions['workspaceDirs'];
  /**
   * The workspace root. When given (and not the package itself), ignore files
   * between it and the package (.npmignore, else .gitignore, per directory)
   * apply as they do for `npm pack` inside an npm workspace.
   */
  workspaceRoot?: string;
}

export interface StagedFile {
  /** Posix path relative to the package root, as it appears under `package/` in the tarball. */
  path: string;
  data: Buffer;
  /** Permission bits of the source file (a tarball keeps them; bins get +x from npm anyway). */
  mode: number;
}

export interface StagedPackage {
  /** The rewritten manifest: what package.json holds in the staged copy. */
  manifest: Manifest;
  /** The files npm would publish, package.json rewritten, in npm-packlist's order. */
  files: StagedFile[];
}

const READ_CONCURRENCY = 16;

/**
 * The publish-ready copy of a package, in memory: the files npm's own rules
 * select (npm-packlist: `files`, .npmignore/.gitignore, the always-included
 * and never-included lists), with package.json's internal dependency specs
 * rewritten to real versions. Reads the package, never writes to it. An
 * unchanged package.json keeps its exact bytes; a rewritten one keeps its
 * indentation, line endings and final newline.
 */
export async function stagePackage(packageDir: string, options: StageOptions): Promise<StagedPackage> {
  const { dir, source, manifest, json, list } = await listPackage(packageDir, options);
  const files = await mapLimit(list, READ_CONCURRENCY, async (rel): Promise<StagedFile> => {
    const abs = path.join(dir, ...rel.split('/'));
    try {
      const stat = await fsp.stat(abs);
      const data = rel === 'package.json' ? Buffer.from(json) : await fsp.readFile(abs);
      return { path: rel, data, mode: stat.mode & 0o777 };
    } catch (error) {
      throw packReadError(abs, source.manifest.name, error);
    }
  });
  return { manifest, files };
}

/** What stagePackage decides before it reads a file: the manifest, its rewrite, and npm's file list. */
export interface PackageListing {
  /** The package folder, absolute. */
  dir: string;
  source: SourceManifest;
  /** The rewritten manifest. */
  manifest: Manifest;
  /** package.json as it will be packed. */
  json: string;
  /** npm-packlist's file list (posix paths relative to dir). */
  list: string[];
}

/**
 * Reads and checks the manifest, refuses bundleDependencies, rewrites the
 * internal specs and lists the files npm would publish, without reading them
 * (`listFiles: false`: no listing, `list` is empty).
 * With `problems` (see RewriteManifestOptions), bundleDependencies and bad
 * specs are collected there instead of thrown; an unreadable or invalid
 * manifest and a failed listing still throw.
 */
export async function listPackage(packageDir: string, options: StageOptions & { problems?: LockstepError[]; listFiles?: boolean }): Promise<PackageListing> {
  const dir = path.resolve(packageDir);
  const source = await readPackageManifest(dir);
  const bundled = source.manifest.bundleDependencies ?? source.manifest.bundledDependencies;
  if (bundled === true || (Array.isArray(bundled) && bundled.length > 0)) {
    const error = bundleDependenciesError(source.manifest.name);
    if (!options.problems) throw error;
    options.problems.push(error);
  }
  const manifest = rewriteManifest(source.manifest, { ...options, packageDir: dir });
  const json = JSON.stringify(manifest) === JSON.stringify(source.manifest) ? source.text : formatLike(source.text, manifest);
  const root = options.workspaceRoot === undefined ? undefined : path.resolve(options.workspaceRoot);
  let list: string[] = [];
  if (options.listFiles === false) return { dir, source, manifest, json, list };
  try {
    list = await packlist()(
      { path: dir, package: source.manifest, isProjectRoot: true, edgesOut: new Map<string, never>() },
      root !== undefined && root !== dir ? { path: dir, prefix: root, workspaces: [dir] } : { path: dir },
    );
  } catch (error) {
    throw packListError(source.manifest.name, dir, error);
  }
  return { dir, source, manifest, json, list };
}

/** JSON of `value` laid out like `text`: same indent, line endings, final newline and BOM. */
function formatLike(text: string, value: unknown): string {
  const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? (text.trim().includes('\n') ? '  ' : '');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let out = JSON.stringify(value, null, indent);
  if (eol !== '\n') out = out.replace(/\n/g, eol);
  if (/\r?\n$/.test(text)) out += eol;
  return text.charCodeAt(0) === 0xfeff ? `\ufeff${out}` : out;
}
