import { IN_FLIGHT_STATUSES, endedBadly, isFinal, summarizeRows } from '../publish/status';
import type { PackageStatus, PublishSummary, ReleasePackage } from '../publish/types';

/** A package's journal record, as far as the report needs it. */
export interface RecordView {
  name: string;
  version: string;
  status: PackageStatus;
  level?: number;
  integrity?: string;
  stageId?: string;
  error?: { code: string; message: string };
  skippedReason?: string;
  startedAt?: string;
  updatedAt?: string;
  /** The run that last moved it (journal records): a resume keeps an earlier run's. */
  runId?: string;
}


/**
 * The summary of a whole per-task run, from its journal records: what the
 * task that finishes (or reports) the run prints and writes. Times are this
 * run's: the total from `runStartedAt` (run.json's start, which a resume
 * sets anew), a row from its record's start in this run; a record this run
 * never moved (kept by a resume from the interrupted run) shows no time.
 * `levels` of `base` (the plan) give the level of a record that has none;
 * `pendingNote` is the note of packages not started.
 */
export function runSummaryFromRecords(
  base: PublishSummary,
  records: readonly RecordView[],
  packages: readonly ReleasePackage[],
  runStartedAt: string | undefined,
  now: number = Date.now(),
  pendingNote?: string,
): PublishSummary {
  const projectOf = new Map(packages.map((p) => [p.name, p.project]));
  const planLevel = new Map<string, number>();
  base.levels.forEach((names, i) => names.forEach((name) => planLevel.set(name, i)));
  const runStart = runStartedAt ? Date.parse(runStartedAt) : NaN;
  const results = records
    .filter((r) => projectOf.has(r.name))
    .map((r) => {
      const status = r.status;
      const started = r.startedAt ? Date.parse(r.startedAt) : NaN;
      const updated = r.updatedAt ? Date.parse(r.updatedAt) : NaN;
      // Kept by a resume (final statuses only: the rest were reset to pending) and not moved since.
      const earlier = isFinal(status) && Number.isFinite(runStart) && Number.isFinite(updated) && updated < runStart;
      const from = Number.isFinite(runStart) ? Math.max(started, runStart) : started;
      const note = IN_FLIGHT_STATUSES.includes(status)
        ? 'in flight when the run stopped: the next run checks the registry first'
        : status === 'pending'
          ? pendingNote
          : (r.skippedReason ?? (earlier ? 'from the interrupted run' : undefined));
      return {
        name: r.name,
        version: r.version,
        project: projectOf.get(r.name),
        level: r.level ?? planLevel.get(r.name) ?? 0,
        status,
        durationMs: !earlier && Number.isFinite(from) && Number.isFinite(updated) ? Math.max(0, updated - from) : 0,
        integrity: r.integrity,
        ...(r.stageId ? { stageId: r.stageId } : {}),
        note: note ?? (r.stageId && status === 'staged' ? `stage ${r.stageId}` : undefined),
        error: r.error,
      };
    });
  // The whole run, never a dry run: what is not final is pending and fails the run.
  const { ok, counts, packages: rows } = summarizeRows(results, { dryRun: false });
  return {
    ...base,
    ok,
    durationMs: Number.isFinite(runStart) ? Math.max(0, now - runStart) : base.durationMs,
    counts,
    packages: rows,
  };
}

/**
 * Per task, Nx runs no task whose dependency task failed, so a run with a
 * failed (or blocked) package can end with packages nobody will publish.
 * Given the run's records and each package's dependencies as Nx orders the
 * tasks, this answers, once nothing is left that a task may still
 * publish: the packages that will never run, each with the failed or
 * blocked package that keeps it from running. Undefined while some package
 * is still to come (pending or in flight, its dependencies not failed).
 */
export function unreachablePackages(records: readonly RecordView[], depsOf: ReadonlyMap<string, readonly string[]>): Array<{ name: string; cause: string }> | undefined {
  const status = new Map(records.map((r) => [r.name, r.status]));
  const causes = new Map<string, string | undefined>();
  const causeOf = (name: string, seen: Set<string>): string | undefined => {
    if (causes.has(name)) return causes.get(name);
    if (seen.has(name)) return undefined;
    seen.add(name);
    let cause: string | undefined;
    for (const dep of depsOf.get(name) ?? []) {
      const s = status.get(dep);
      if (endedBadly(s)) cause = dep;
      else if (s !== undefined && !isFinal(s)) cause = causeOf(dep, seen);
      if (cause) break;
    }
    causes.set(name, cause);
    return cause;
  };
  const open = records.filter((r) => !isFinal(r.status));
  const unreachable: Array<{ name: string; cause: string }> = [];
  for (const r of open) {
    const cause = causeOf(r.name, new Set());
    if (cause === undefined) return undefined;
    unreachable.push({ name: r.name, cause });
  }
  return unreachable;
}
