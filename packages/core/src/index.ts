export * from './errors';
export { writeFileAtomicFast } from './atomic/write-fast';
export { writeFileDurable, isDurableTempFor } from './atomic/write-durable';
export { TEMP_FILE_PATTERN, isTempFileName, tempSiblingPath } from './atomic/temp-name';
export { normalizeEmittedPath, assertNoSymlinkEscape } from './atomic/confine';
export { sweepTempFiles } from './atomic/sweep';
export { commitTree, type CommitFile, type CommitOptions, type CommitStats, type FileSource } from './atomic/commit-tree';
export {
  acquireLock,
  withLock,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STALE_MS,
  type AcquireOptions,
  type LockHandle,
  type WaitInfo,
} from './lock/lock';
export { readLockStatus, type LockStatus, type PublicOwner } from './lock/status';
export { resolveLockDir } from './lock/lock-dir';
export { systemProcessProbe, type ProcessProbe } from './lock/process-probe';
export { describeOwner, type LockOwner } from './lock/owner';
export { mapLimit } from './util/map-limit';
export {
  runGenerate,
  type GenerateContext,
  type GenerateResult,
  type GeneratorFunction,
  type GeneratorResult,
  type Producer,
  type RunGenerateOptions,
} from './generate/run-generate';
