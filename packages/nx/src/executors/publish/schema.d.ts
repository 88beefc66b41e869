export interface PublishExecutorSchema {
  packageRoot?: string;
  registry?: string;
  tag?: string;
  access?: 'public' | 'restricted';
  /** A number (Nx's parser turns `--otp=012345` into 12345) is padded back to 6 digits. */
  otp?: string | number;
  dryRun?: boolean;
  maxConcurrency?: number;
  retries?: number;
  verifyTimeoutMs?: number;
  resume?: 'auto' | 'fresh';
  concurrency?: { group?: string; max?: number; cancelInProgress?: boolean; waitTimeoutMs?: number };
  lockPolicy?: 'require' | 'warn' | 'off';
  lockBackend?: 'local' | 'git' | { type: 'local' | 'git'; remote?: string; ttl?: string };
  forceLock?: boolean;
  summaryFile?: string;
}
