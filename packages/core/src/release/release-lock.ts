import { currentBranch } from '../group/repository-identity';
import { resolveGroupName } from '../group/group-name';
import { repositoryIdentity } from '../group/repository-identity';
import { ErrorCodes, LockstepError } from '../errors';
import { takeGitReleaseLock } from './git-release-lock';
import { takeLocalReleaseLock } from './local-release-lock';
import type { ReleaseOptions } from './options';

/**
 * The release lock: a run's hold on its concurrency group, on the local
 * backend (local-release-lock.ts: slots of the core lock) or the git one
 * (git-release-lock.ts: a lease `group:<name>` kept by a LeaseKeeper).
 */
export interface ReleaseLock {
  /** Ends the hold for the whole run. */
  release(): Promise<boolean>;
  /** Leaves the hold in place for the rest of the run (per-task mode), stops this process's part in it. */
  detach(): void;
  /** "superseded by …" once a newer run asked this one to stop (cancelInProgress). */
  supersededBy(): string | undefined;
  /** Set when the hold was lost (a lease taken over, a lock reclaimed): publishing must stop. */
  lost(): LockstepError | undefined;
}

export interface ReleaseLockRequest {
  group: string;
  repoId: string;
  runPid: number;
  /** host:pid:start of the run. */
  runId: string;
  /** Per-task mode: this process is one task of the run (the lease must outlive it). */
  perTask: boolean;
  workspaceRoot: string;
  command: string;
  waitTimeoutMs: number;
  options: ReleaseOptions;
  log: (line: string) => void;
}

export interface TakeReleaseLockInput {
  workspaceRoot: string;
  targetName: string;
  runProjects: readonly string[];
  onlyProjects?: readonly string[];
  runPid: number;
  runId: string;
  options: ReleaseOptions;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** The checkout's branch and repository identity as the run knows them (per task: asked once per run); default: ask git. */
  repository?: { branch(): string; identity(): string };
}

/**
 * Takes the run's release lock as its lockPolicy says: `off` takes none,
 * `warn` goes on without it (loudly) when another live run holds it,
 * `require` waits up to concurrency.waitTimeoutMs.
 */
export async function takeReleaseLock(input: TakeReleaseLockInput): Promise<ReleaseLock | undefined> {
  const { options, log } = input;
  if (options.lockPolicy === 'off') return undefined;
  const group = resolveGroupName(options.group.template, {
    branch: input.repository?.branch() ?? currentBranch(input.workspaceRoot, input.env),
    target: input.targetName,
    project: input.onlyProjects?.join(',') ?? input.runProjects.join(','),
  }, input.env);
  const repoId = input.repository?.identity() ?? repositoryIdentity(input.workspaceRoot);
  const common = { group, repoId, runPid: input.runPid, runId: input.runId, perTask: input.onlyProjects !== undefined, workspaceRoot: input.workspaceRoot, options, command: `nx ${input.targetName} (${input.runProjects.length} projects)`, log };
  if (options.lockPolicy === 'warn') {
    try {
      return await onBackend({ ...common, waitTimeoutMs: 0 });
    } catch (error) {
      if (!(error instanceof LockstepError) || (error.code !== ErrorCodes.ELOCKTIMEOUT && error.code !== ErrorCodes.ELEASECONFLICT)) throw error;
      log(`!!! lockPolicy "warn": the release group '${group}' is held by another live run; going on WITHOUT the lock. Uploads of the two runs may interleave.`);
      return undefined;
    }
  }
  return onBackend({ ...common, waitTimeoutMs: options.group.waitTimeoutMs });
}

function onBackend(request: ReleaseLockRequest): Promise<ReleaseLock> {
  return request.options.lockBackend.type === 'git' ? takeGitReleaseLock(request, request.options.lockBackend) : takeLocalReleaseLock(request);
}
