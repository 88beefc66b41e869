import { stageGoneError, stagedVersionDiffersError } from './errors';
import { planLevels } from '../schedule/plan-levels';
import { sameIntegrity } from '../registry/integrity';

/** A version a staged run left on the registry's stage (its journal record). */
export interface StagedVersion {
  name: string;
  version: string;
  /** The integrity of the staged tarball: what must go live. */
  integrity: string;
  stageId: string;
  /** In-run dependencies (names among the entries). */
  deps: string[];
}

/** What approval needs from the registry (the registry client's staging calls). */
export interface StagePort {
  getPublished(name: string, version: string): Promise<{ integrity: string } | undefined>;
  /** POST /-/stage/<id>/approve with the OTP; 'gone' when the registry no longer has the stage (404). */
  approveStage(name: string, stageId: string, otp?: string): Promise<'approved' | 'gone'>;
  waitUntilVisible(name: string, version: string, integrity: string, options: { timeoutMs: number }): Promise<void>;
}

/** Where approval records progress (the run's journal): a version recorded approved is confirmed, never approved again. */
export interface ApprovalRecord {
  isApproved(name: string): boolean;
  markApproved(name: string): Promise<void>;
}

export type ApprovalOutcome = 'approved' | 'already-live';

/**
 * Approves a staged run in dependency order: a version goes live only after
 * every in-run dependency is visible with its staged integrity (G1 for
 * staged releases). Resumable: a version recorded approved, or already live
 * with the staged integrity (an approval whose record a SIGKILL lost), is
 * confirmed and not approved again; a stage the registry no longer has is
 * fine only if the version is live with the staged integrity. One OTP for
 * the whole run.
 */
export async function approveStaged(
  entries: readonly StagedVersion[],
  port: StagePort,
  record: ApprovalRecord,
  options: { otp?: string; verifyTimeoutMs: number; onApproved?: (entry: StagedVersion, outcome: ApprovalOutcome) => void },
): Promise<Map<string, ApprovalOutcome>> {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const plan = planLevels(
    entries.map((e) => ({ name: e.name, deps: e.deps.filter((d) => byName.has(d)) })),
    { cycles: 'allow' },
  );
  const levels: string[][] = [];
  for (const [name, level] of plan.levels) (levels[level] ??= []).push(name);
  const outcomes = new Map<string, ApprovalOutcome>();
  for (const level of levels) {
    if (!level) continue;
    await Promise.all(
      level.map(async (name) => {
        const entry = byName.get(name)!;
        const outcome = await approveOne(entry, port, record, options);
        outcomes.set(name, outcome);
        options.onApproved?.(entry, outcome);
      }),
    );
  }
  return outcomes;
}

async function approveOne(entry: StagedVersion, port: StagePort, record: ApprovalRecord, options: { otp?: string; verifyTimeoutMs: number }): Promise<ApprovalOutcome> {
  const wait = () => port.waitUntilVisible(entry.name, entry.version, entry.integrity, { timeoutMs: options.verifyTimeoutMs });
  if (record.isApproved(entry.name)) {
    await wait();
    return 'already-live';
  }
  const live = await port.getPublished(entry.name, entry.version);
  if (live) {
    if (!sameIntegrity(live.integrity, entry.integrity)) throw stagedVersionDiffersError(entry, live.integrity);
    await record.markApproved(entry.name);
    return 'already-live';
  }
  const answer = await port.approveStage(entry.name, entry.stageId, options.otp);
  if (answer === 'gone') {
    // Approved by a run whose answer was lost (it goes live shortly), or withdrawn: only the registry can tell.
    try {
      await wait();
    } catch {
      throw stageGoneError(entry);
    }
    await record.markApproved(entry.name);
    return 'already-live';
  }
  await wait();
  await record.markApproved(entry.name);
  return 'approved';
}
