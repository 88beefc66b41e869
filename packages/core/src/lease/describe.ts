import { safeText } from '../util/display';
import { formatDuration } from '../util/duration';
import type { LeaseView } from './types';

/**
 * "bob@host until ~12:30:05 (29m50s left; pid 123 on host, acquired 12:00:05)",
 * the same for both backends. The record may come from anyone (another user,
 * anyone who can push to the git remote): its text is escaped and cut
 * (safeText). A stand-in for an unreadable record has no pid and names no host.
 */
export function describeLease(lease: LeaseView, now = Date.now()): string {
  const until = lease.unsound
    ? '(expired: its record is unsound, so it counts as expired'
    : lease.expired
      ? `(expired; last renewed ${clock(Date.parse(lease.renewedAt))}`
      : lease.remainingMs === undefined
        ? '(expiry unknown yet'
        : `until ~${clock(now + lease.remainingMs)} (${formatDuration(lease.remainingMs)} left`;
  const where = lease.pid ? `pid ${safeText(lease.pid, 20)} on ${safeText(lease.hostname, 64)}, ` : '';
  return `${safeText(lease.owner)} ${until}; ${where}acquired ${clock(Date.parse(String(lease.acquiredAt)))})`;
}

function clock(ms: number): string {
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date.toTimeString().slice(0, 8) : '?';
}

/** Leases in the order every status shows them: by resource id (code-unit order, as stored). */
export function sortLeaseViews<T extends Pick<LeaseView, 'resource'>>(views: T[]): T[] {
  return views.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
}
