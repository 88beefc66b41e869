import type { LeaseResource } from './resource';

/** What a lease records: who holds which resource, for how long. No secrets: the owner is a name, not a credential. */
export interface LeaseRecord {
  schema_version: 1;
  /** Canonical resource id, e.g. `package:@acme/a`, `path:dist/app`, `group:release`, `repo:main`. */
  resource: string;
  /** `--owner`, `LOCKSTEP_OWNER`, or `<user>@<host>`: separate commands of one CI job share it. */
  owner: string;
  /** Random per acquisition: two acquisitions by one owner are told apart. */
  nonce: string;
  ttlMs: number;
  acquiredAt: string;
  /** Wall time of the last renew, for people; expiry never compares machines' clocks. */
  renewedAt: string;
  hostname: string;
  pid: number;
}

/** A lease as one observer sees it. */
export interface LeaseView extends LeaseRecord {
  backend: 'local' | 'git';
  /** Expired as this observer judges it (git: oid unchanged for ttl + margin on our own monotonic clock). */
  expired: boolean;
  /** Milliseconds left before this observer would call it expired; undefined when it cannot tell yet. */
  remainingMs?: number;
  /**
   * Set when the stored record cannot be believed (its ttlMs is not a sane
   * number): why. Such a lease counts as expired, so it can always be taken
   * over, collected or broken.
   */
  unsound?: string;
}

export interface LeaseWaitInfo {
  resource: string;
  /** The leases in the way. */
  conflicts: LeaseView[];
  waitedMs: number;
}

export interface LeaseAcquireOptions {
  owner: string;
  ttlMs: number;
  /** How long to keep trying while another owner holds a conflicting lease. 0 (default): try once. */
  waitMs?: number;
  /** Pause between tries while waiting. Backend default. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called when waiting starts and every `waitReportMs` (default 10 s) after. */
  onWait?: (info: LeaseWaitInfo) => void;
  waitReportMs?: number;
}

/** What `break` removed. */
export interface LeaseBreakResult {
  /** false: nothing was held (nothing to break). */
  broken: boolean;
  /** The lease that was removed, as read just before removing exactly that version. */
  holder?: LeaseView;
}

export interface LeaseAcquireResult {
  lease: LeaseView;
  /** The owner already held it: this acquire renewed it (same nonce kept). */
  renewed: boolean;
  /** An expired lease of another owner that this acquire replaced. */
  tookOver?: LeaseView;
  waitedMs: number;
}

/**
 * Leases on one backend. Every write is a compare-and-swap: a lease is
 * created only where none is, renewed and released only by its owner, and an
 * expired lease is taken over only by the one whose swap names it exactly.
 * Conflicts (see `resourcesConflict`) are checked after creating one's own
 * entry, so two conflicting acquirers can both fail, never both hold.
 */
export interface LeaseBackend {
  readonly kind: 'local' | 'git';
  /** ELEASECONFLICT when a conflicting lease of another owner stays in the way past `waitMs`. */
  acquire(resource: LeaseResource, options: LeaseAcquireOptions): Promise<LeaseAcquireResult>;
  /** Owner only (ELEASENOTOWNER), held only (ELEASENOTHELD). An owner may renew its expired lease nobody took over. */
  renew(resource: LeaseResource, options: { owner: string; ttlMs?: number }): Promise<LeaseView>;
  /** Owner only (ELEASENOTOWNER). Not held: `released: false`, not an error (release is idempotent). */
  release(resource: LeaseResource, options: { owner: string }): Promise<{ released: boolean; lease?: LeaseView }>;
  /** Every lease, or those that conflict with `resource`. */
  status(resource?: LeaseResource): Promise<LeaseView[]>;
  /** Removes expired leases (each by compare-and-swap on what was seen). */
  gc(): Promise<{ removed: LeaseView[] }>;
  /**
   * Removes the lease on exactly `resource`, whoever holds it, live or not:
   * for a holder that is gone or stuck. Compare-and-swap on the version read,
   * so a newer lease it did not see is never removed (ELEASECONFLICT then).
   * A `reason` is required. Nothing held: `broken: false`.
   */
  break(resource: LeaseResource, options: { reason: string }): Promise<LeaseBreakResult>;
}
