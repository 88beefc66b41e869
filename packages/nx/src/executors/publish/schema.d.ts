export interface PublishExecutorSchema {
  packageRoot?: string;
  registry?: string;
  tag?: string;
  access?: 'public' | 'restricted';
  /** A number (Nx's parser turns `--otp=012345` into 12345) is padded back to 6 digits. */
  otp?: string | number;
  /** How uploads authenticate: `auto` (trusted publishing in CI when no token is configured), `token`, `oidc`. */
  auth?: 'auto' | 'token' | 'oidc';
  provenance?: boolean;
  provenanceFile?: string;
  dryRun?: boolean;
  /** Stage every package (npm's staged publishing) instead of publishing it; `lockstep release approve` publishes them. */
  stage?: boolean;
  maxConcurrency?: number;
  retries?: number;
  verifyTimeoutMs?: number;
  resume?: 'auto' | 'fresh';
  concurrency?: { group?: string; max?: number; cancelInProgress?: boolean; waitTimeoutMs?: number };
  lockPolicy?: 'require' | 'warn' | 'off';
  lockBackend?: 'local' | 'git' | { type: 'local' | 'git'; remote?: string; ttl?: string };
  forceLock?: boolean;
  summaryFile?: string;
  /** allow (default): the members of a cycle are published without an order among them; error: ECYCLE. */
  cycles?: 'allow' | 'error';
  /** From `nx release publish --first-release`: a project nx release did not bump is published like any other. */
  firstRelease?: boolean;
  /** From `nx release`: the version step's result by project; newVersion null means not bumped (expected on the registry already). */
  nxReleaseVersionData?: Record<string, { currentVersion?: string | null; newVersion: string | null; [key: string]: unknown }>;
}
