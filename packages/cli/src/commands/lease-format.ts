import { type LeaseView, formatDuration, safeText } from '@lockstep/core';

/*
 * Lines about leases for people. A lease record comes from anyone who can
 * write to the lock directory or push to the git remote, so every field of it
 * is shown through safeText: control characters escaped, absurd lengths cut.
 */

/** Longest resource id shown (path: names may have 1024 characters, see MAX_PATH_RESOURCE_LENGTH). */
export const RESOURCE_SHOWN = 1100;

/** Local wall-clock time, HH:MM:SS; '?' for what is not a time. */
export function clockTime(ms: number): string {
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date.toTimeString().slice(0, 8) : '?';
}

/** A stored ISO time as written, when it is one; else '?'. For "since …" of a lease being broken. */
export function isoTime(value: unknown): string {
  const ms = Date.parse(String(value));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '?';
}

export function shownResource(lease: Pick<LeaseView, 'resource'>): string {
  return safeText(lease.resource, RESOURCE_SHOWN);
}

export function shownOwner(lease: Pick<LeaseView, 'owner'>): string {
  return safeText(lease.owner);
}

/** "until ~12:30:05 (ttl 30m)", or what this observer cannot tell yet. */
export function until(lease: LeaseView, now = Date.now()): string {
  if (lease.unsound) return `expired: its record cannot be believed (${safeText(lease.unsound)}), so anyone may take it over or remove it`;
  if (lease.expired) return `expired (last renewed ${clockTime(Date.parse(String(lease.renewedAt)))}, ttl ${formatDuration(lease.ttlMs)})`;
  if (lease.remainingMs === undefined) return `until it expires (ttl ${formatDuration(lease.ttlMs)}; not observed long enough to say when)`;
  return `until ~${clockTime(now + lease.remainingMs)} (ttl ${formatDuration(lease.ttlMs)})`;
}

/** ", pid 123 on runner-3", or nothing for a stand-in without a process. */
export function where(lease: LeaseView): string {
  return lease.pid ? `, pid ${safeText(lease.pid, 20)} on ${safeText(lease.hostname, 64)}` : '';
}

/** One status line: "package:@acme/a  ci@runner-3 until ~12:30:05 (ttl 30m), pid 123 on runner-3 since 12:00:05". */
export function leaseLine(lease: LeaseView, width = 0, now = Date.now()): string {
  return `${shownResource(lease).padEnd(width)}  ${shownOwner(lease)} ${until(lease, now)}${where(lease)} since ${clockTime(Date.parse(String(lease.acquiredAt)))}`;
}

export function leaseLines(leases: LeaseView[], now = Date.now()): string[] {
  const width = Math.min(80, Math.max(0, ...leases.map((l) => shownResource(l).length)));
  return leases.map((l) => leaseLine(l, width, now));
}

/** "bob@host (until ~12:30:05 …)" for wait messages. */
export function holderSummary(leases: LeaseView[]): string {
  if (leases.length === 0) return 'conflicting acquires in progress';
  const first = leases[0];
  const more = leases.length > 1 ? ` and ${leases.length - 1} more` : '';
  return `${shownResource(first)} held by ${shownOwner(first)} ${until(first)}${more}`;
}
