/** Types for staging.js (npm's staged-publishing endpoints in front of Verdaccio). */
import type { ProxyFront } from './fault-proxy';
export interface StagedEntry {
  id: string;
  name: string;
  version: string;
  tag: string;
  createdAt: string;
  shasum?: string;
  integrity?: string;
}
export interface StagingFront extends ProxyFront {
  /** Every approval that reached Verdaccio, in order. */
  approvals: Array<{ name: string; version: string }>;
  stages: Map<string, StagedEntry>;
}
export function createStagingFront(options: { target: string; registryToken: string; otp?: string }): StagingFront;
