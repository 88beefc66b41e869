import { FINAL_STATUSES, IN_FLIGHT_STATUSES, PACKAGE_STATUSES, PackageStatus, compareSummaryRows, countStatuses, endedBadly, endedWell, isFinal, isPackageStatus, summarizeRows } from './status';

describe('package statuses', () => {
  it('every status is exactly one of: pending, in flight, final', () => {
    for (const status of PACKAGE_STATUSES) {
      const kinds = [status === 'pending', IN_FLIGHT_STATUSES.includes(status), FINAL_STATUSES.includes(status)].filter(Boolean);
      expect([status, kinds.length]).toEqual([status, 1]);
    }
    expect(isPackageStatus('verifying')).toBe(true);
    expect(isPackageStatus('done')).toBe(false);
    expect(isPackageStatus(undefined)).toBe(false);
  });

  it('ended well: published, skipped or staged; pending only in a dry run; final is not the same as ended well', () => {
    const well = PACKAGE_STATUSES.filter((s) => endedWell(s));
    expect(well).toEqual(['published', 'skipped', 'staged']);
    expect(PACKAGE_STATUSES.filter((s) => endedWell(s, true))).toEqual(['pending', 'published', 'skipped', 'staged']);
    expect(PACKAGE_STATUSES.filter((s) => isFinal(s))).toEqual(['published', 'skipped', 'failed', 'blocked', 'staged']);
    // ended badly: the final statuses that did not end well
    expect(PACKAGE_STATUSES.filter((s) => endedBadly(s))).toEqual(PACKAGE_STATUSES.filter((s) => isFinal(s) && !endedWell(s)));
    expect(endedBadly(undefined)).toBe(false);
  });

  it('counts every status that is not final as pending, and sorts rows by level then name without touching its input', () => {
    const rows: Array<{ name: string; level: number; status: PackageStatus }> = [
      { name: 'b', level: 1, status: 'published' },
      { name: 'a', level: 1, status: 'verifying' },
      { name: 'z', level: 0, status: 'failed' },
      { name: 'c', level: 2, status: 'pending' },
    ];
    expect(countStatuses(rows)).toEqual({ published: 1, staged: 0, skipped: 0, failed: 1, blocked: 0, pending: 2 });
    const summary = summarizeRows(rows, { dryRun: false });
    expect(summary.packages.map((r) => r.name)).toEqual(['z', 'a', 'b', 'c']);
    expect(rows.map((r) => r.name)).toEqual(['b', 'a', 'z', 'c']);
    expect(summary.ok).toBe(false);
    expect([{ name: 'x', level: 0 }, { name: 'a', level: 1 }].sort(compareSummaryRows).map((r) => r.name)).toEqual(['x', 'a']);
  });

  it('a summary is ok without failed or blocked rows and, unless a dry run, without pending ones', () => {
    const pending = [{ name: 'a', level: 0, status: 'pending' as const }];
    expect(summarizeRows(pending, { dryRun: true }).ok).toBe(true);
    expect(summarizeRows(pending, { dryRun: false }).ok).toBe(false);
    expect(summarizeRows([{ name: 'a', level: 0, status: 'skipped' as const }], { dryRun: false }).ok).toBe(true);
    expect(summarizeRows([{ name: 'a', level: 0, status: 'blocked' as const }], { dryRun: true }).ok).toBe(false);
  });
});
