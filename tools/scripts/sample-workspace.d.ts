/** Types for sample-workspace.js. */
export interface ReaderTally {
  reads: number;
  okReads: number;
  sweeps: number;
  completeSweeps: number;
  missing: number;
  missingBefore: number;
  empty: number;
  torn: number;
  errors: number;
  firstCompleteAtMs: number | null;
  completeOnce: boolean;
  stamps: string[];
  samples: Array<{ kind: string; rel: string; detail: string; atMs: number }>;
  durationMs: number;
}
export interface Reader {
  pid: number | undefined;
  stop(): Promise<ReaderTally>;
}
export const FIXTURES: string;
export const READER: string;
export const TOOLS_DIR: string;
export function fixtureFiles(): Record<string, string>;
export function generatorModule(modulePath: string, options: { count?: number; delayMs?: number; failWith?: string }): string;
export function commandScript(scriptPath: string, options: { count: number; stamp: string; failAfterPartialWrite?: boolean }): string;
export function checkCommand(outDir: string, count: number, label: string): string;
export function startReader(outDirAbs: string, count: number, resultFile: string): Promise<Reader>;
export function findLeftovers(dir: string): string[];
