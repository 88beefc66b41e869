export interface PublishExecutorSchema {
  packageRoot?: string;
  registry?: string;
  tag?: string;
  access?: 'public' | 'restricted';
  otp?: string;
  dryRun?: boolean;
  maxConcurrency?: number;
  retries?: number;
  verifyTimeoutMs?: number;
  resume?: 'auto' | 'fresh';
  concurrency?: { group?: string; max?: number; cancelInProgress?: boolean; waitTimeoutMs?: number };
  lockPolicy?: 'require' | 'warn' | 'off';
  lockBackend?: 'local';
  forceLock?: boolean;
  summaryFile?: string;
}
