import { ErrorCodes, LockstepError } from '../errors';

/**
 * Every error of the release run (run-release.ts, the release lock, the
 * stop) and of approving a staged run (approve.ts, staged-run.ts). See errors.ts for the naming convention.
 */

/** A task whose own project has no readable package got past the run's checks (they should have refused it). */
export function ownPackageMissingError(projects: readonly string[]): LockstepError {
  return new LockstepError(ErrorCodes.EINTERNAL, `Project ${projects.join(', ')} has no package to publish, yet the run's checks passed.`, {
    hint: 'This is a bug in lockstep. Please report it with the command you ran and this output.',
  });
}

/** A run stopped between packages because a newer run superseded it (cancelInProgress). */
export function supersededRunError(reason: string): LockstepError {
  return new LockstepError(ErrorCodes.ESUPERSEDED, `This run was ${reason}; it stopped between packages, and what it had not started stays pending.`, {
    hint: 'Nothing is lost: the newer run (or the next run at this commit) resumes from the journal.',
  });
}

/** The run's git lease can no longer be trusted (not renewed in time, or someone else's now). */
export function releaseLeaseLostError(message: string): LockstepError {
  return new LockstepError(ErrorCodes.ELOCKCOMPROMISED, message, {
    hint: 'Another run may take the group over now. Nothing started after this point; check the other run, then run again to resume.',
  });
}

/** EABORTED with the signal: the reason a stop's abort carries, and what a registry request cut off by it throws. */
export function stoppedError(signal: NodeJS.Signals, why: string): LockstepError {
  return new LockstepError(ErrorCodes.EABORTED, `Stopped by ${signal}: ${why}.`, {
    hint: 'Nothing is lost: the next run at this commit resumes from the journal and asks the registry about anything cut off in flight.',
  });
}

/** `lockstep release approve|reject` found no staged run in the journal. */
export function notStagedRunError(dir: string, why: string): LockstepError {
  return new LockstepError(ErrorCodes.ENOTSTAGED, `No staged run to approve or reject in ${dir}: ${why}.`, {
    hint: 'Stage first: run the publish target with stage: true (and the same --target and cache directory), then approve or reject it.',
  });
}

/** Approval of a staged run some of whose packages are not staged (failed, blocked, stopped): G1 would not hold. */
export function stagedRunUnfinishedError(dir: string, open: readonly string[]): LockstepError {
  return new LockstepError(ErrorCodes.ENOTSTAGED, `The staged run in ${dir} did not stage every package: ${open.join(', ')}.`, {
    hint: 'Nothing was approved. Withdraw the run (lockstep release reject), fix what failed, and stage again; an interrupted staged run resumes by running the target again.',
  });
}

/** A staged version went live with other content than the run staged. */
export function stagedVersionDiffersError(entry: { name: string; version: string; integrity: string }, live: string): LockstepError {
  return new LockstepError(ErrorCodes.EVERSIONEXISTS, `${entry.name}@${entry.version} is live with other content (${live}) than the staged ${entry.integrity}`, {
    hint: `Reject the run's staged versions (lockstep release reject) and release a new version of ${entry.name}.`,
  });
}

/** The registry no longer has a stage the run recorded, and the version is not live. */
export function stageGoneError(entry: { name: string; version: string; stageId: string }): LockstepError {
  return new LockstepError(ErrorCodes.EREGISTRY, `The registry no longer has stage ${entry.stageId} of ${entry.name}@${entry.version}, and the version is not live`, {
    hint: 'It was rejected or expired: stage the run again.',
  });
}
