/**
 * The facts about a package's status in a publish run, in one place: the
 * journal stores these statuses, the run and the per-task report count and
 * sort by them, and the release run (release/run-release.ts) asks whether
 * a package ended well.
 */

/** Every status a package of a publish run can be in, in the order a package passes through them. */
export const PACKAGE_STATUSES = ['pending', 'packing', 'publishing', 'verifying', 'published', 'skipped', 'failed', 'blocked', 'staging', 'staged'] as const;
export type PackageStatus = (typeof PACKAGE_STATUSES)[number];

/** A package in one of these needs no more work in this run. */
export const FINAL_STATUSES: readonly PackageStatus[] = ['published', 'skipped', 'failed', 'blocked', 'staged'];

/** Begun and not settled: a run that stops here leaves the registry to be asked next time. */
export const IN_FLIGHT_STATUSES: readonly PackageStatus[] = ['packing', 'publishing', 'verifying', 'staging'];

/** True when `status` is one of PACKAGE_STATUSES (a value read from outside). */
export function isPackageStatus(status: unknown): status is PackageStatus {
  return (PACKAGE_STATUSES as readonly unknown[]).includes(status);
}

/**
 * A staged run (stage: true) moves a package packing → staging → staged: `staged`
 * (with its stage id) is final and ended well; nothing of it is public until
 * `lockstep release approve` moves it to published.
 */

/** Needs no more work in this run: published, skipped, failed, blocked or staged. */
export function isFinal(status: PackageStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/**
 * Ended well: published, staged (a staged run), or skipped (already there, private, expected there).
 * In a dry run also `pending`, what a dry run leaves a package it would publish.
 */
export function endedWell(status: PackageStatus, dryRun = false): boolean {
  return status === 'published' || status === 'skipped' || status === 'staged' || (dryRun && status === 'pending');
}

/** Did the package end in failure: its own (failed), or a dependency's (blocked)? */
export function endedBadly(status: PackageStatus | undefined): boolean {
  return status === 'failed' || status === 'blocked';
}

/** What a summary counts; every status not final counts as pending. */
export type SummaryCounts = Record<'published' | 'staged' | 'skipped' | 'failed' | 'blocked' | 'pending', number>;

/** The summary's counts of `rows`. */
export function countStatuses(rows: ReadonlyArray<{ status: PackageStatus }>): SummaryCounts {
  const counts: SummaryCounts = { published: 0, staged: 0, skipped: 0, failed: 0, blocked: 0, pending: 0 };
  for (const { status } of rows) {
    if (status === 'published' || status === 'staged' || status === 'skipped' || status === 'failed' || status === 'blocked') counts[status]++;
    else counts.pending++;
  }
  return counts;
}

/** The summary's row order: by level, then by name. */
export function compareSummaryRows(a: { level: number; name: string }, b: { level: number; name: string }): number {
  return a.level - b.level || a.name.localeCompare(b.name);
}

/**
 * The part of a summary its rows decide: counts, whether the run went well
 * (nothing failed or blocked, and, unless a dry run, nothing left pending),
 * and the rows in summary order (a sorted copy).
 */
export function summarizeRows<Row extends { status: PackageStatus; level: number; name: string }>(
  rows: readonly Row[],
  options: { dryRun: boolean },
): { ok: boolean; counts: SummaryCounts; packages: Row[] } {
  const counts = countStatuses(rows);
  return {
    ok: counts.failed === 0 && counts.blocked === 0 && (options.dryRun || counts.pending === 0),
    counts,
    packages: [...rows].sort(compareSummaryRows),
  };
}
