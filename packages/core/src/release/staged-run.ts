import { ErrorCodes } from '../errors';
import { openJournal, type Journal } from '../journal/open-journal';
import { readJournal, type JournalSnapshot } from '../journal/read-journal';
import type { PackageRecord } from '../journal/records';
import { classifyRegistryError } from '../registry/classify';
import type { RegistryClient } from '../registry/client-types';
import { approveStaged, type ApprovalOutcome, type StagePort, type StagedVersion } from './approve';
import { notStagedRunError, stagedRunUnfinishedError } from './errors';

/**
 * `lockstep release approve | reject`: the staged run recorded in a target's
 * journal (stage: true), approved in dependency order (the levels the run
 * recorded) with one OTP, or withdrawn. Approvals are recorded in the
 * journal (staged → published) as they happen, so a re-run resumes.
 */
export interface StagedRunOptions {
  /** The journal directory (journalLocation(cacheDir, target)). */
  dir: string;
  client: Pick<RegistryClient, 'getPublished' | 'approveStage' | 'rejectStage' | 'waitUntilVisible'>;
  otp?: string;
  /** Asked once, on the first EOTP (the run's terminal prompt); undefined: the EOTP stands. */
  askOtp?: () => Promise<string | undefined>;
  verifyTimeoutMs: number;
  log: (line: string) => void;
}

export interface StagedRunRow {
  name: string;
  version: string;
  stageId?: string;
  level: number;
  /** approve: approved | already-live | skipped (live before staging); reject: rejected | gone | live | skipped. */
  outcome: string;
}

export interface StagedRunResult {
  runId: string;
  registry: string;
  packages: StagedRunRow[];
}

const staged = (r: PackageRecord) => r.stageId !== undefined && (r.status === 'staged' || r.status === 'published');

/** The staged run recorded in `dir` (`check` sees the packages it did not stage), reopened (resume: auto) so approvals and rejections are recorded as they happen. */
async function reopenStagedRun(
  dir: string,
  check: (open: PackageRecord[]) => void = () => undefined,
): Promise<{ snapshot: JournalSnapshot; records: PackageRecord[]; journal: Journal; levelOf: Map<string, number> }> {
  const snapshot = await readJournal(dir);
  if (!snapshot) throw notStagedRunError(dir, 'no run is recorded there');
  const records = snapshot.packages;
  if (!records.some(staged)) throw notStagedRunError(dir, `run ${snapshot.run.runId} staged nothing (was it run with stage: true?)`);
  check(records.filter((r) => !(staged(r) || r.status === 'skipped')));
  const { run } = snapshot;
  const { journal } = await openJournal(dir, { runId: run.runId, sha: run.sha, target: run.target, registry: run.registry, packages: run.packages, resume: 'auto' });
  return { snapshot, records, journal, levelOf: new Map(records.map((r) => [r.name, r.level ?? 0])) };
}

/**
 * One OTP for the run: --otp, else the first EOTP asks once (terminal) and
 * every call uses that code, also calls in flight at once that all met the
 * EOTP (a level is approved in parallel): they share the one question.
 */
function otpCaller(options: StagedRunOptions): <T>(call: (otp: string | undefined) => Promise<T>) => Promise<T> {
  let asked: Promise<string | undefined> | undefined;
  return async (call) => {
    const tried = options.otp ?? (asked ? await asked : undefined);
    try {
      return await call(tried);
    } catch (error) {
      const cause = (error as { cause?: unknown })?.cause ?? error;
      const otpDemand = (error as { code?: string }).code === 'EOTP' || classifyRegistryError(cause).code === 'EOTP';
      if (!otpDemand || !options.askOtp || options.otp !== undefined) throw error;
      asked ??= options.askOtp();
      const answer = await asked;
      if (answer === undefined || answer === tried) throw error;
      return call(answer);
    }
  };
}

export async function approveStagedRun(options: StagedRunOptions): Promise<StagedRunResult> {
  const withOtp = otpCaller(options);
  const { snapshot, records, journal, levelOf } = await reopenStagedRun(options.dir, (open) => {
    // Approving goes all the way or not at all: a run that did not stage every package is rejected and staged again.
    if (open.length > 0) throw stagedRunUnfinishedError(options.dir, open.map((r) => `${r.name} (${r.status})`));
  });
  const entries: StagedVersion[] = [];
  const stagedRecords = records.filter(staged);
  for (const r of stagedRecords) {
    // The run recorded each package's dependency level: a version goes live after every lower level.
    const deps = stagedRecords.filter((o) => (o.level ?? 0) < (r.level ?? 0)).map((o) => o.name);
    entries.push({ name: r.name, version: r.version, integrity: r.integrity!, stageId: r.stageId!, deps });
  }
  const port: StagePort = {
    getPublished: (name, version) => options.client.getPublished(name, version),
    approveStage: (name, stageId) => withOtp((otp) => options.client.approveStage(name, stageId, otp)),
    waitUntilVisible: (name, version, integrity, o) => options.client.waitUntilVisible(name, version, integrity, o),
  };
  const outcomes: Map<string, ApprovalOutcome> = await approveStaged(
    entries,
    port,
    {
      isApproved: (name) => journal.get(name)?.status === 'published',
      markApproved: async (name) => void (await journal.transition(name, 'published')),
    },
    {
      verifyTimeoutMs: options.verifyTimeoutMs,
      onApproved: (entry, outcome) => options.log(`${entry.name}@${entry.version} ${outcome === 'approved' ? `approved (stage ${entry.stageId}), live` : 'already live'}`),
    },
  );
  return {
    runId: snapshot.run.runId,
    registry: snapshot.run.registry,
    packages: rows(records, levelOf, (r) => outcomes.get(r.name) ?? 'skipped'),
  };
}

export async function rejectStagedRun(options: StagedRunOptions): Promise<StagedRunResult> {
  const withOtp = otpCaller(options);
  const { snapshot, records, journal, levelOf } = await reopenStagedRun(options.dir);
  const outcomes = new Map<string, string>();
  for (const r of records) {
    if (r.status !== 'staged' || !r.stageId) continue;
    const live = await options.client.getPublished(r.name, r.version);
    if (live) {
      // Approved already: a live version cannot be withdrawn by rejecting its stage.
      outcomes.set(r.name, 'live');
      options.log(`${r.name}@${r.version} is live already: not rejected`);
      continue;
    }
    const stageId = r.stageId;
    const answer = await withOtp((otp) => options.client.rejectStage(r.name, stageId, otp));
    await journal.transition(r.name, 'failed', { error: { code: ErrorCodes.EREJECTED, message: `stage ${stageId} rejected (lockstep release reject)` } });
    outcomes.set(r.name, answer);
    options.log(`${r.name}@${r.version} ${answer === 'rejected' ? `rejected (stage ${stageId})` : `stage ${stageId} was gone already`}`);
  }
  if (outcomes.size > 0 && [...outcomes.values()].some((o) => o !== 'live')) await journal.finish('failed');
  return { runId: snapshot.run.runId, registry: snapshot.run.registry, packages: rows(records, levelOf, (r) => outcomes.get(r.name) ?? (r.status === 'published' ? 'live' : r.status)) };
}

function rows(records: PackageRecord[], levelOf: Map<string, number>, outcome: (r: PackageRecord) => string): StagedRunRow[] {
  return records
    .map((r) => ({ name: r.name, version: r.version, ...(r.stageId ? { stageId: r.stageId } : {}), level: levelOf.get(r.name) ?? 0, outcome: outcome(r) }))
    .sort((a, b) => a.level - b.level || a.name.localeCompare(b.name));
}
