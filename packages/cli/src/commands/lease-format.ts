import { type LeaseView, formatDuration } from '@lockstep/core';

/** Local wall-clock time, HH:MM:SS. */
export function clockTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toTimeString().slice(0, 8) : '?';
}

/** "until ~12:30:05 (ttl 30m)", or what this observer cannot tell yet. */
export function until(lease: LeaseView, now = Date.now()): string {
  if (lease.expired) return `expired (last renewed ${clockTime(Date.parse(lease.renewedAt))}, ttl ${formatDuration(lease.ttlMs)})`;
  if (lease.remainingMs === undefined) return `until it expires (ttl ${formatDuration(lease.ttlMs)}; not observed long enough to say when)`;
  return `until ~${clockTime(now + lease.remainingMs)} (ttl ${formatDuration(lease.ttlMs)})`;
}

/** One status line: "package:@acme/a  ci@runner-3 until ~12:30:05 (ttl 30m), pid 123 on runner-3 since 12:00:05". */
export function leaseLine(lease: LeaseView, width = 0, now = Date.now()): string {
  const where = lease.pid ? `, pid ${lease.pid} on ${lease.hostname}` : '';
  return `${lease.resource.padEnd(width)}  ${lease.owner} ${until(lease, now)}${where} since ${clockTime(Date.parse(lease.acquiredAt))}`;
}

export function leaseLines(leases: LeaseView[], now = Date.now()): string[] {
  const width = Math.max(0, ...leases.map((l) => l.resource.length));
  return leases.map((l) => leaseLine(l, width, now));
}

/** "bob@host (until ~12:30:05 …)" for wait messages. */
export function holderSummary(leases: LeaseView[]): string {
  if (leases.length === 0) return 'conflicting acquires in progress';
  const first = leases[0];
  const more = leases.length > 1 ? ` and ${leases.length - 1} more` : '';
  return `${first.resource} held by ${first.owner} ${until(first)}${more}`;
}
