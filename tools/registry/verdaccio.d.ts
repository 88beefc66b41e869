/** Types for verdaccio.js (plain CommonJS, shared by tests, the demo and benchmarks). */
export interface StartRegistryOptions {
  /** Where packages are stored; kept on stop(). Default: a temp dir removed on stop(). */
  storageDir?: string;
  /** Default: a free port. */
  port?: number;
  /** Verdaccio log level (default env LOCKSTEP_VERDACCIO_LOG_LEVEL or 'warn'). */
  logLevel?: string;
  user?: string;
  password?: string;
  startTimeoutMs?: number;
}
export interface Registry {
  /** `http://127.0.0.1:PORT/` (with the trailing slash). */
  url: string;
  port: number;
  /** An API token of `user` (a JWT). */
  token: string;
  user: string;
  storageDir: string;
  logFile: string;
  pid: number | undefined;
  /** Fork → listening → user created, in ms. */
  startupMs: number;
  /** Creates (or logs in) another user and returns its token. */
  createUser(name: string, password: string): Promise<string>;
  /** The last 4 KB of Verdaccio's log. */
  readLog(): string;
  /** Ends the child process (SIGTERM, SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}
export function startRegistry(options?: StartRegistryOptions): Promise<Registry>;
export function createUser(url: string, name?: string, password?: string): Promise<string>;
export function nerfDart(registry: string): string;
export function writeNpmrc(dir: string, options: { registry?: string; url?: string; token?: string; lines?: string[] }): string;
export function verdaccioConfig(options: { storageDir: string; configPath: string; logLevel: string }): Record<string, unknown>;
export const DEFAULT_USER: string;
