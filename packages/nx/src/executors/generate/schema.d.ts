export interface GenerateExecutorSchema {
  outDir: string;
  generator?: string;
  command?: string;
  prune?: boolean;
  lockTimeoutMs?: number;
}
