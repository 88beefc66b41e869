/** Types for fault-proxy.js (plain CommonJS, shared by tests, the demo and benchmarks). */
/** '429' | '500' | '502' | '503' | any 3-digit status | 'reset', optionally with '-after' (forwarded, then the answer is lost/replaced); or 'hang' (never answered, never forwarded). */
export type Fault = string;
export interface ProxyRequestInfo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** A publish: PUT /<package> whose body carries a tarball. */
  isUpload: boolean;
  name?: string;
  version?: string;
  body: Buffer;
}
export interface FaultProxyOptions {
  target: string;
  port?: number;
  latencyMs?: number;
  faultRate?: number;
  faults?: Fault[];
  retryAfterSeconds?: number | string;
  seed?: number;
  /** A fault to inject, `false`/'none' to force none, undefined for the random draw. */
  rules?: (req: ProxyRequestInfo) => Fault | false | null | undefined;
  /** While set, arriving uploads wait for this promise before anything else happens to them. */
  uploadGate?: Promise<unknown>;
  /** Endpoints answered in front of the registry (trusted-publishing.js). */
  front?: ProxyFront;
}
export interface ProxyFront {
  answer(req: import('http').IncomingMessage, res: import('http').ServerResponse, body: Buffer, upload: { name: string; version: string } | undefined): number | undefined | Promise<number | undefined>;
  upstreamHeaders(req: import('http').IncomingMessage, headers: Record<string, unknown>): Record<string, unknown>;
}
export interface UploadRecord {
  name: string;
  version: string;
  start: number;
  end: number | undefined;
  status: number | string | undefined;
  fault: string | undefined;
  /** Whether the upload reached the registry. */
  forwarded: boolean;
}
export interface RequestRecord {
  method: string;
  path: string;
  status: number | string | undefined;
  fault: string | undefined;
  start: number;
  end: number | undefined;
}
export interface FaultProxyStats {
  requests: number;
  faults: number;
  faultsByKind: Record<string, number>;
  forwarded: number;
  uploads: UploadRecord[];
  log: RequestRecord[];
}
export interface FaultProxy {
  url: string;
  port: number;
  stats: FaultProxyStats;
  setOptions(partial: Partial<Omit<FaultProxyOptions, 'port'>>): void;
  resetStats(): void;
  uploadsOf(name: string, version?: string, options?: { forwardedOnly?: boolean }): UploadRecord[];
  stop(): Promise<void>;
}
export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy>;
export function mulberry32(seed: number): () => number;
export const DEFAULT_FAULTS: Fault[];
