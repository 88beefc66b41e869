/**
 * The typed surface of the npm libraries the registry client uses (none of
 * them ships types). Only what we call is declared.
 */

export type FetchOptions = Record<string, unknown>;

export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export interface NpmAuth {
  regKey: string | false;
  authKey: string | null;
  token: string | null;
  auth: string | null;
  cert: string | null;
  key: string | null;
}

export interface NpmRegistryFetch {
  (uri: string, options?: FetchOptions): Promise<FetchResponse>;
  json(uri: string, options?: FetchOptions): Promise<unknown>;
  getAuth(uri: string, options?: FetchOptions): NpmAuth;
  pickRegistry(spec: string | NpaSpec, options?: FetchOptions): string;
}

/** npm-package-arg's answer for `name@version`: what the registry picks and the URL path need. */
export interface NpaSpec {
  name: string | null;
  scope?: string;
  escapedName: string;
}

export interface LibNpmPublish {
  publish(manifest: Record<string, unknown>, tarball: Buffer, options?: FetchOptions): Promise<unknown>;
}

export interface NpmcliConfigInstance {
  load(): Promise<void>;
  get(key: string, where?: string): unknown;
  set(key: string, value: unknown, where?: string): void;
  find(key: string): string | null;
  readonly flat: Record<string, unknown>;
  readonly data: Map<string, { source: string | null; loadError?: NodeJS.ErrnoException | null; data: Record<string, unknown> }>;
  readonly sources: Map<string, string>;
  readonly localPrefix: string;
  readonly home: string;
}

export interface NpmcliConfigClass {
  new (options: {
    definitions: unknown;
    shorthands: unknown;
    flatten: unknown;
    nerfDarts?: string[];
    npmPath: string;
    env?: Record<string, string | undefined>;
    argv?: string[];
    platform?: string;
    execPath?: string;
    cwd?: string;
    warn?: boolean;
  }): NpmcliConfigInstance;
}

export interface NpmcliDefinitions {
  definitions: unknown;
  shorthands: unknown;
  flatten: unknown;
  nerfDarts: string[];
}

export interface Ssri {
  fromData(data: Buffer, options?: { algorithms?: string[] }): { toString(): string };
  parse(integrity: string, options?: { single?: boolean; strict?: boolean }): SsriIntegrity | null;
}
export interface SsriIntegrity {
  match(other: string | SsriIntegrity, options?: unknown): false | { algorithm: string; digest: string };
  toString(): string;
  isEmpty?(): boolean;
}

/*
 * Required on first use: npm-registry-fetch and libnpmpublish cost ~100 ms to
 * load, which everything importing @lockstep/core (generate, the CLI) would
 * otherwise pay.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
let fetchModule: NpmRegistryFetch | undefined;
let publishModule: LibNpmPublish | undefined;
let ssriModule: Ssri | undefined;
let npaModule: { resolve(name: string, spec: string): NpaSpec } | undefined;

export const npmFetch = (): NpmRegistryFetch => (fetchModule ??= require('npm-registry-fetch'));
export const libnpmpublish = (): LibNpmPublish => (publishModule ??= require('libnpmpublish'));
export const ssri = (): Ssri => (ssriModule ??= require('ssri'));
export const npa = () => (npaModule ??= require('npm-package-arg'));
export const loadNpmcliConfig = (): { Config: NpmcliConfigClass; defs: NpmcliDefinitions } => ({
  Config: require('@npmcli/config'),
  defs: require('@npmcli/config/lib/definitions'),
});
