import { PackageResult, PublishSummary } from './types';

/** Where a package went when that is not the run's tag and registry (publishConfig, its own task's options). */
function target(p: PackageResult): string {
  return [p.tag !== undefined ? `tag ${p.tag}` : '', p.registry !== undefined ? `to ${p.registry}` : ''].filter(Boolean).join(' ');
}

/** The table printed at the end of a publish run. */
export function formatSummary(summary: PublishSummary): string {
  const rows = summary.packages.map((p) => [
    `${p.name}@${p.version}`,
    `L${p.level}`,
    p.status,
    p.durationMs >= 1 ? `${(p.durationMs / 1000).toFixed(1)} s` : '',
    p.error ? `[${p.error.code}] ${p.error.message}` : [target(p), p.note].filter(Boolean).join('; '),
  ]);
  const header = ['package', 'level', 'status', 'time', 'note'];
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  const { counts } = summary;
  const title = summary.dryRun
    ? `Dry run: nothing was ${summary.stage ? 'staged' : 'published'}.`
    : summary.stage
      ? `Staged on ${summary.registry} with tag ${summary.tag}: nothing is public until \`lockstep release approve\`.`
      : `Published to ${summary.registry} with tag ${summary.tag}.`;
  return [
    title,
    line(header),
    ...rows.map(line),
    `${counts.published} published, ${summary.stage || counts.staged ? `${counts.staged} staged, ` : ''}${counts.skipped} skipped, ${counts.failed} failed, ${counts.blocked} blocked` +
      `${counts.pending ? `, ${counts.pending} ${summary.dryRun ? 'to publish' : 'pending'}` : ''} in ${(summary.durationMs / 1000).toFixed(1)} s.`,
  ].join('\n');
}
