/**
 * npm's own packing libraries, typed for the little lockstep uses of them
 * (they ship no type declarations). Loaded with require() so no ambient
 * `declare module` can clash with another folder's, and on first use:
 * libnpmpack brings Arborist and pacote (~200 ms), which everything importing
 * @lockstep/core (generate, the CLI) would otherwise pay.
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
type LibNpmPack = (spec: string, options: { ignoreScripts: boolean }) => Promise<Buffer>;
type Ssri = { fromData(data: Uint8Array, options: { algorithms: string[] }): { toString(): string } };

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
let packModule: LibNpmPack | undefined;
let ssriModule: Ssri | undefined;
let npaModule: Npa | undefined;

export const packlist = (): Packlist => (packlistModule ??= require('npm-packlist'));
export const libnpmpack = (): LibNpmPack => (packModule ??= require('libnpmpack'));
export const ssri = (): Ssri => (ssriModule ??= require('ssri'));
export const npa = (): Npa => (npaModule ??= require('npm-package-arg'));
