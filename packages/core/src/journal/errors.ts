import { ErrorCodes, LockstepError } from '../errors';

/**
 * Every error of the journal area: reading records (records.ts,
 * journal-files.ts) and opening and moving a run (open-journal.ts). See
 * errors.ts for the convention.
 */

const BUG_HINT = 'This is a bug in lockstep. Please report it with the command you ran and this output.';

/** EJOURNALCORRUPT: a journal file is not JSON, not a record, torn, or missing where the run lists it. */
export function journalCorruptError(file: string, why: string, cause?: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EJOURNALCORRUPT, `The publish journal file ${file} is corrupt: ${why}.`, {
    hint: `Inspect it (lockstep state show), then delete it, or start over with resume: "fresh" (lockstep state clear removes the whole journal). Check the registry before publishing again: the journal no longer says what was published.`,
    cause,
  });
}

/** EBADOPTIONS: openJournal was called with options that cannot work (a bug of its caller). */
export function journalOptionsError(what: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `openJournal: ${what}.`, { hint: 'This is a bug in the caller of openJournal; please report it.' });
}

/** The unfinished run found in the journal, and the commit this run is at. */
export interface ShaMismatch {
  dir: string;
  run: { runId: string; sha: string; startedAt: string };
  sha: string;
}

/** ESTATESHAMISMATCH: the journal holds an unfinished run of another commit. */
export function journalShaMismatchError({ dir, run, sha }: ShaMismatch): LockstepError {
  return new LockstepError(
    ErrorCodes.ESTATESHAMISMATCH,
    `The journal in ${dir} holds an unfinished run of commit ${run.sha} (run ${run.runId}, started ${run.startedAt}), but this run is at commit ${sha}.`,
    {
      hint: `To finish that run, check out ${run.sha} and run the same command again. To abandon it and start over at ${sha}, run with resume: "fresh" (or \`lockstep state clear\`); packages it already published are then found on the registry and skipped.`,
    },
  );
}

/** EBADOPTIONS: two task processes of one run disagree on a package's version. */
export function journalVersionConflictError(runId: string, journaled: { name: string; version: string }, asked: { name: string; version: string }): LockstepError {
  return new LockstepError(
    ErrorCodes.EBADOPTIONS,
    `Run ${runId} already journals ${journaled.name}@${journaled.version}, but this process opened it for ${asked.name}@${asked.version}.`,
    { hint: 'Every task process of one run must agree on the package versions; run the versioning step before publishing, not during it.' },
  );
}

/** ELOCKCOMPROMISED: the run this handle opened is no longer the journal's (cleared, or replaced by another run). */
export function journalRunReplacedError(dir: string, runId: string, now: { runId: string } | undefined): LockstepError {
  return new LockstepError(
    ErrorCodes.ELOCKCOMPROMISED,
    `The journal in ${dir} no longer holds run ${runId} (${now ? `it holds run ${now.runId}` : 'it was cleared'}).`,
    { hint: 'Another release ran without the release lock, or `lockstep state clear` ran during this run. Check the registry before publishing again.' },
  );
}

/** EINTERNAL: a journal handle was used in a way lockstep itself never should (unknown package or status, a transition G1 forbids). */
export function journalMisuseError(message: string): LockstepError {
  return new LockstepError(ErrorCodes.EINTERNAL, message, { hint: BUG_HINT });
}
