/**
 * npm's own packing libraries, typed for the little lockstep uses of them
 * (they ship no type declarations). Loaded with require() so no ambient
 * `declare module` can clash with another folder's, and on first use, so
 * what does not pack (generate, the CLI) never loads them.
 */

/** The part of an Arborist node npm-packlist reads for a project root without bundled dependencies. */
export interface PacklistTree {
  path: string;
  package: Record<string, unknown>;
  isProjectRoot: true;
  edgesOut: Map<string, never>;
}

export interface PacklistOptions {
  path: string;
  /** The workspace root: ignore files between it and `path` apply, as `npm pack` in a workspace does. */
  prefix?: string;
  workspaces?: string[];
}

type Packlist = (tree: PacklistTree, options: PacklistOptions) => Promise<string[]>;
/** node-tar's header and PAX extended header encoders, as its WriteEntry uses them. */
export interface TarHeaderData {
  path: string;
  mode: number;
  size: number;
  mtime: Date;
  type?: 'File';
}
interface TarModule {
  Header: new (data: TarHeaderData) => { encode(): boolean; block?: Buffer; size?: number };
  Pax: new (data: Partial<TarHeaderData>, global?: boolean) => { encode(): Buffer };
}
/** pacote's own tar options for a directory (prefix, portable, gzip 9, fixed mtime, bins +x): what `npm pack` uses. */
type TarCreateOptions = (manifest: Record<string, unknown>) => Record<string, unknown>;
/** @npmcli/package-json, for the one normalisation pacote applies that changes the tarball: `bin` (and `directories.bin`). */
type PackageJsonClass = { normalize(dir: string, options: { steps: string[] }): Promise<{ content: Record<string, unknown> }> };

export interface NpaResult {
  type: string;
  name: string | null;
  fetchSpec: string | null;
  rawSpec: string;
  /** An `npm:` alias's real package. */
  subSpec?: NpaResult;
}
type Npa = { resolve(name: string, spec: string, where?: string): NpaResult };

let packlistModule: Packlist | undefined;
let tarModule: TarModule | undefined;
let tarOptionsModule: TarCreateOptions | undefined;
let packageJsonModule: PackageJsonClass | undefined;
let npaModule: Npa | undefined;

export const packlist = (): Packlist => (packlistModule ??= require('npm-packlist'));
export const tar = (): TarModule => (tarModule ??= require('tar'));
// pacote's DirFetcher.tarCreateOptions, without loading pacote (its fetchers, Arborist, npm-registry-fetch).
export const tarCreateOptions = (): TarCreateOptions => (tarOptionsModule ??= require('pacote/lib/util/tar-create-options.js'));
export const packageJson = (): PackageJsonClass => (packageJsonModule ??= require('@npmcli/package-json'));
export const npa = (): Npa => (npaModule ??= require('npm-package-arg'));
