/**
 * What lockstep's publish executors load (`@lockstep/core/dist/publish-task`):
 * the run, its services, its stop and the errors, without the rest of the
 * core index (generate, leases, staged approval, …). In per-task mode Nx
 * forks one process per package; each loads only this graph, and npm's
 * libraries only when it packs or uploads (pack/, registry/).
 */
export { ErrorCodes, LockstepError, isLockstepError, toLockstepError, type ErrorCode } from './errors';
export { runRelease, type RunReleaseInput, type RunReleaseResult } from './release/run-release';
export { createReleaseServices } from './release/default-services';
export { RunStop } from './release/stop';
export type { ReleaseOptions } from './release/options';
export { AUTH_MODES } from './registry/oidc';
export { parseDuration } from './util/duration';
