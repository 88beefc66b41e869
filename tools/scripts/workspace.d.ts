/** Types for workspace.js (plain CommonJS, shared by the demo and e2e/nx-e2e). */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout followed by stderr. */
  output: string;
  durationMs: number;
  pid: number | undefined;
}
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}
export type FileMap = Record<string, string | Buffer | object>;

export const REPO_ROOT: string;
export const NX_VERSION: string;
export function run(command: string, args: string[], options?: RunOptions): Promise<RunResult>;
export function track<T extends import('child_process').ChildProcess>(child: T): T;
export function terminateChildren(graceMs?: number): Promise<void>;
export function runChecked(command: string, args: string[], options?: RunOptions): Promise<RunResult>;
/** Throws unless `packages` (repository-relative, default the plugin's packages) are built and up to date (`tsc -b --dry`). */
export function assertFreshBuild(packages?: string[]): void;
/** The packages among `packages` whose build is missing or stale (`tsc -b --dry`). */
export function staleBuilds(packages?: string[]): string[];
export function packPlugin(destDir: string): Promise<Record<string, string>>;
export function createTemplateWorkspace(dir: string, tarballs: Record<string, string>, options?: Pick<RunOptions, 'onLine'>): Promise<string>;
export function nxBin(templateDir: string): string;
export function nxEnv(extra?: Record<string, string | undefined>): Record<string, string | undefined>;
export function runNx(
  templateDir: string,
  cwd: string,
  args: string[],
  options?: { env?: Record<string, string | undefined>; onLine?: RunOptions['onLine'] },
): Promise<RunResult>;
export function writeFiles(root: string, files: FileMap): void;
export function createWorkspace(dir: string, options?: { templateDir?: string; files?: FileMap; nxJson?: object }): Promise<string>;
export function makeTempDir(prefix: string): string;
export function removeDir(dir: string | undefined): void;
export function listFiles(dir: string): string[];
export function snapshotDir(dir: string): Record<string, Buffer>;
