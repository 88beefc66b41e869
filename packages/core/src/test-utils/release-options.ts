import type { ReleaseOptions } from '../release/options';

/**
 * Release options for specs: the defaults of the publish executor's
 * schema.json (the Nx adapter's normalize-options.spec pins them there),
 * with the lock off unless a spec asks for it, and `overrides` on top. No
 * tag: unset, as when the user gives none (publishConfig.tag, else latest).
 */
export function releaseOptions(overrides: Partial<ReleaseOptions> = {}): ReleaseOptions {
  return {
    auth: 'auto',
    dryRun: false,
    stage: false,
    maxConcurrency: 4,
    retries: 3,
    verifyTimeoutMs: 5 * 60_000,
    resume: 'auto',
    group: { template: 'publish', waitTimeoutMs: 60 * 60_000, max: 1, cancelInProgress: false },
    lockBackend: { type: 'local' },
    lockPolicy: 'off',
    forceLock: false,
    cycles: 'allow',
    firstRelease: false,
    ...overrides,
  };
}
