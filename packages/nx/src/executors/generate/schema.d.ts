export interface GenerateExecutorSchema {
  outDir: string;
  generator?: string;
  command?: string;
  prune?: boolean | 'all';
  allowOutsideWorkspace?: boolean;
  lockTimeoutMs?: number;
  stash?: boolean | string;
  phase?: 'hold' | 'stash';
}
