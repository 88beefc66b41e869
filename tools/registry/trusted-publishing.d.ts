/** Types for trusted-publishing.js (npm's OIDC exchange in front of Verdaccio, and a fake CI identity endpoint). */
import type { ProxyFront } from './fault-proxy';
export interface CiIdentity {
  url: string;
  requestToken: string;
  issued: string[];
  env(): Record<string, string>;
  stop(): Promise<void>;
}
export function startCiIdentity(options?: { claims?: Record<string, unknown> }): Promise<CiIdentity>;
export interface TrustedPublishingFront extends ProxyFront {
  exchanges: Array<{ name: string; status: number }>;
  uploads: Array<{ name: string; version: string; token: string }>;
  tokens(): string[];
}
export function createTrustedPublishingFront(options: { registryToken: string; trusted?: (name: string) => boolean }): TrustedPublishingFront;
