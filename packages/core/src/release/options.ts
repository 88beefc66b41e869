import type { AuthMode } from '../registry/oidc';

/**
 * The options of a release run, normalised once by the adapter (the Nx
 * executor's normalize-options.ts): nothing in the run re-checks them.
 */
export interface ReleaseOptions {
  registry?: string;
  /** The dist-tag the user set; undefined: the package's publishConfig.tag, else "latest" (and a prerelease is refused, as npm does). */
  tag?: string;
  access?: 'public' | 'restricted';
  otp?: string;
  /** How uploads authenticate (core's AuthMode). */
  auth: AuthMode;
  /** undefined: npm's config, else as trusted publishing decides. */
  provenance?: boolean;
  /** Absolute. */
  provenanceFile?: string;
  dryRun: boolean;
  /** Stage every package instead of publishing it (npm's staged publishing); `lockstep release approve` publishes them. */
  stage: boolean;
  maxConcurrency: number;
  retries: number;
  verifyTimeoutMs: number;
  resume: 'auto' | 'fresh';
  group: { template: string; waitTimeoutMs: number; max: number; cancelInProgress: boolean };
  /** Where the release lock lives: this machine's lock directory, or leases on a git remote. */
  lockBackend: { type: 'local' } | { type: 'git'; remote: string; ttlMs: number };
  lockPolicy: 'require' | 'warn' | 'off';
  forceLock: boolean;
  /** Absolute. */
  summaryFile?: string;
  /** allow: the members of a cycle are published without an order among them; error: ECYCLE. */
  cycles: 'allow' | 'error';
  /** `nx release publish --first-release`: a project nx release did not bump is published like any other. */
  firstRelease: boolean;
  /** `nx release`'s version data by project: newVersion null = not bumped (expected on the registry already). */
  versionData?: ReadonlyMap<string, { newVersion: string | null }>;
}
