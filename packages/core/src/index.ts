export * from './errors';
export { writeFileAtomicFast } from './atomic/write-fast';
export { writeFileDurable, isDurableTempFor } from './atomic/write-durable';
export { TEMP_FILE_PATTERN, isTempFileName, tempSiblingPath } from './atomic/temp-name';
export { normalizeEmittedPath, assertNoSymlinkEscape } from './atomic/confine';
export { commitTree, type CommitFile, type CommitOptions, type CommitStats, type FileSource } from './atomic/commit-tree';
export {
  acquireLock,
  withLock,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STALE_MS,
  type AcquireOptions,
  type LockHandle,
  type WaitInfo,
  type SupersedeOptions,
} from './lock/lock';
export { readLockStatus, publicOwner, type LockStatus, type SlotStatus, type PublicOwner } from './lock/status';
export { DEFAULT_KILL_GRACE_MS, killGraceFromEnv, type SupersedeRequest } from './lock/supersede';
export { acquireGroup, readGroupStatus, groupKey, describeSupersede, DEFAULT_GROUP_WAIT_MS, type GroupOptions, type GroupStatus } from './group/group';
export { resolveLockDir } from './lock/lock-dir';
export { systemProcessProbe, type ProcessProbe } from './lock/process-probe';
export { describeOwner, type LockOwner } from './lock/owner';
export { mapLimit } from './util/map-limit';
export { abortReason, throwIfAborted, unlessAborted } from './util/abort';
export {
  runGenerate,
  type GenerateContext,
  type GenerateResult,
  type GeneratorFunction,
  type GeneratorResult,
  type Producer,
  type RunGenerateOptions,
} from './generate/run-generate';
export {
  runHoldStep,
  runStashStep,
  runSyncStep,
  readStash,
  defaultStashDir,
  STASH_INDEX,
  GENERATE_STALE_MS,
  type HoldStepOptions,
  type StashIndex,
  type StashResult,
  type SyncResult,
} from './generate/stash';
export { cachedSyncTargetError } from './generate/errors';
export { planLevels, type Plan, type PlanNode, type PlanOptions } from './schedule/plan-levels';
export { runScheduled, type NodeOutcome, type ScheduleOptions, type ScheduleResult } from './schedule/run-scheduled';
export { publishPackages, type PublishPackagesOptions } from './publish/publish-packages';
export { preflightRun, preflightError, PreflightError, type PreflightOptions, type PreflightProblem, type PreflightReport } from './publish/preflight';
export { formatSummary } from './publish/format-summary';
export {
  PACKAGE_STATUSES,
  IN_FLIGHT_STATUSES,
  isPackageStatus,
  isFinal,
  endedWell,
  countStatuses,
  compareSummaryRows,
  summarizeRows,
  type SummaryCounts,
} from './publish/status';
export type { ReleasePackage, PackageStatus, PackedPackage, RegistryPort, JournalPort, PackageResult, PublishSummary, PackageSettings } from './publish/types';
export { acquireLocalReleaseLock, DEFAULT_GROUP_STALE_MS, type LocalReleaseLockOptions } from './release/local-release-lock';
export { resolveGroupName } from './group/group-name';
export { repositoryIdentity, currentSha, currentBranch } from './group/repository-identity';
export * from './registry/index';
export * from './pack/index';
export * from './journal/index';
export * from './lease/index';
export { parseDuration, formatDuration, checkDurationRange, type DurationLimits } from './util/duration';
export { safeText, safeLines, safeJson, escapeControls, hasControls, truncateText, DISPLAY_MAX_CHARS, JSON_MAX_CHARS } from './util/display';
export { runRelease, type RunReleaseInput, type RunReleaseResult } from './release/run-release';
export type { ReleaseOptions } from './release/options';
export { approveStagedRun, rejectStagedRun, type StagedRunOptions, type StagedRunResult, type StagedRunRow } from './release/staged-run';
export { approveStaged, type StagedVersion, type StagePort, type ApprovalRecord, type ApprovalOutcome } from './release/approve';
export { createReleaseServices } from './release/default-services';
export type { ReleaseServices, JournalHandle, OpenJournalInput, RegistrySettings } from './release/services';
export { takeReleaseLock, type ReleaseLock, type ReleaseLockRequest, type TakeReleaseLockInput } from './release/release-lock';
export { RunStop, stopGrace, stopExitCode, underNx, type RunStopOptions, type StopGrace } from './release/stop';
export { readWorkspacePackages, scanWorkspacePackages, resolvePackageRoot, type ProjectInfo, type WorkspacePackages } from './manifest/workspace-packages';
export { packageGenerator } from './generate/package-generator';
export { journalLocation } from './journal/location';
export { DEPENDENCY_FIELDS, INSTALLED_FIELDS, internalDependency, readSpec, type DependencyField, type SpecMeaning } from './manifest/internal-spec';
