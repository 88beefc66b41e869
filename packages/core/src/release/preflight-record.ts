import { readFileSync, rmSync } from 'fs';
import { readdirOrEmpty } from '../util/fs';
import * as path from 'path';
import { ErrorCodes, isLockstepError } from '../errors';
import { PreflightError, PreflightProblem } from '../publish/preflight';
import { writeFileDurable } from '../atomic/write-durable';

/**
 * The preflight of a per-task run (G6) runs once, in the task that sets up
 * the run's journal, under the journal's set-up lock. When it fails, the run
 * has no journal to tell the other tasks, so the failure is kept beside it
 * in `preflight-failed-<runId>.json`: a later task of the same run finds it
 * under the same lock and fails with the same error, without checking
 * again and without uploading anything. The file holds the redacted
 * problems only (no option values, no credentials). Files of other runs are
 * removed when a run passes its preflight.
 */
const PREFIX = 'preflight-failed-';

interface Recorded {
  schema: 1;
  runId: string;
  message: string;
  hint: string;
  problems: PreflightProblem[];
}

export function preflightRecordPath(journalDir: string, runId: string): string {
  return path.join(journalDir, `${PREFIX}${runId.replace(/[^\w.-]/g, '_')}.json`);
}

/** Runs `validate` unless this run's preflight already failed (then throws that failure again). */
export async function preflightOnce(journalDir: string, runId: string, validate: () => Promise<void>): Promise<void> {
  const file = preflightRecordPath(journalDir, runId);
  const recorded = readRecorded(file, runId);
  if (recorded) throw new PreflightError(recorded.problems, recorded.message, recorded.hint);
  try {
    await validate();
  } catch (error) {
    if (error instanceof PreflightError || isLockstepError(error, ErrorCodes.EPREFLIGHT)) {
      const record: Recorded = {
        schema: 1,
        runId,
        message: error.message,
        hint: error.hint ?? '',
        problems: error instanceof PreflightError ? [...error.problems] : [],
      };
      await writeFileDurable(file, `${JSON.stringify(record, null, 2)}\n`);
    }
    throw error;
  }
  sweepOtherRecords(journalDir, file);
}

function readRecorded(file: string, runId: string): Recorded | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Recorded;
    if (value?.schema === 1 && value.runId === runId && typeof value.message === 'string') return value;
  } catch {
    // torn or foreign: check again, which writes it anew
  }
  return undefined;
}

function sweepOtherRecords(journalDir: string, keep: string): void {
  for (const name of readdirOrEmpty(journalDir, { emptyWhen: 'unreadable' })) {
    if (name.startsWith(PREFIX) && path.join(journalDir, name) !== keep) rmSync(path.join(journalDir, name), { force: true });
  }
}
