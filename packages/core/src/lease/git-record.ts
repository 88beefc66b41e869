import { createHash, randomBytes } from 'crypto';
import * as os from 'os';
import type { LeaseResource } from './resource';
import type { LeaseRecord } from './types';

/** Every lease ref lives here, one per resource, on the shared remote. */
export const LEASE_REF_PREFIX = 'refs/lockstep/locks/';

/** The lease ref of a resource: the full sha256 (64 hex) of its id, so any id fits a ref name and none collide. */
export function leaseRefFor(resourceId: string): string {
  return `${LEASE_REF_PREFIX}${createHash('sha256').update(resourceId).digest('hex')}`;
}

export const LEASE_REF_PATTERN = /^refs\/lockstep\/locks\/[0-9a-f]{64}$/;

/** What a lease commit's message holds: the record plus a counter that makes every version a new object. */
export interface StoredLeaseRecord extends LeaseRecord {
  /** +1 on every renew, so two versions of one lease are never the same commit (no A-B-A on the ref). */
  sequence: number;
}

/**
 * A stored record if `value` is one (and belongs to `ref` when given), else
 * undefined: a foreign or damaged object under refs/lockstep/locks/ is not a
 * lease.
 */
export function toStoredRecord(value: unknown, ref?: string): StoredLeaseRecord | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  const strings = ['resource', 'owner', 'nonce', 'acquiredAt', 'renewedAt', 'hostname'];
  if (r.schema_version !== 1 || strings.some((k) => typeof r[k] !== 'string')) return undefined;
  // Any number: a TTL that is not sane (0, negative, 3.6e29, Infinity from 1e400) is kept as read
  // and makes the lease count as expired (see isSaneTtl), so it can always be taken over and removed.
  if (typeof r.ttlMs !== 'number' || Number.isNaN(r.ttlMs)) return undefined;
  if (typeof r.pid !== 'number') return undefined;
  if (ref !== undefined && leaseRefFor(r.resource as string) !== ref) return undefined;
  return {
    schema_version: 1,
    resource: r.resource as string,
    owner: r.owner as string,
    nonce: r.nonce as string,
    ttlMs: r.ttlMs,
    acquiredAt: r.acquiredAt as string,
    renewedAt: r.renewedAt as string,
    hostname: r.hostname as string,
    pid: r.pid,
    sequence: typeof r.sequence === 'number' && Number.isInteger(r.sequence) ? r.sequence : 0,
  };
}

/** The public part of a stored record (no sequence). */
export function publicRecord(r: StoredLeaseRecord): LeaseRecord {
  return {
    schema_version: 1,
    resource: r.resource,
    owner: r.owner,
    nonce: r.nonce,
    ttlMs: r.ttlMs,
    acquiredAt: r.acquiredAt,
    renewedAt: r.renewedAt,
    hostname: r.hostname,
    pid: r.pid,
  };
}

/** The message of a commit object (what follows the first blank line). */
export function commitMessage(body: string): string {
  const at = body.indexOf('\n\n');
  return at < 0 ? '' : body.slice(at + 2);
}

/** Parses `git cat-file --batch` output: oid → object body, for the commits found. */
export function parseCatFileBatch(out: Buffer): Map<string, string> {
  const found = new Map<string, string>();
  let pos = 0;
  while (pos < out.length) {
    const eol = out.indexOf(10, pos);
    if (eol < 0) break;
    const header = out.subarray(pos, eol).toString('utf8').split(' ');
    pos = eol + 1;
    if (header.length !== 3) continue; // "<oid> missing" / "ambiguous"
    const size = Number(header[2]);
    const body = out.subarray(pos, pos + size);
    pos += size + 1;
    if (header[1] === 'commit') found.set(header[0], body.toString('utf8'));
  }
  return found;
}

/** A new lease: a fresh nonce, sequence 0. */
export function newRecord(resource: LeaseResource, owner: string, ttlMs: number): StoredLeaseRecord {
  const now = new Date().toISOString();
  return {
    schema_version: 1,
    resource: resource.id,
    owner,
    nonce: randomBytes(16).toString('hex'),
    ttlMs,
    acquiredAt: now,
    renewedAt: now,
    hostname: os.hostname(),
    pid: process.pid,
    sequence: 0,
  };
}

/** The next version of a lease: same nonce, sequence + 1 (a new object, so the ref never returns to an old oid). */
export function renewedRecord(previous: StoredLeaseRecord, ttlMs?: number): StoredLeaseRecord {
  return {
    ...previous,
    ttlMs: ttlMs ?? previous.ttlMs,
    renewedAt: new Date().toISOString(),
    hostname: os.hostname(),
    pid: process.pid,
    sequence: previous.sequence + 1,
  };
}

/** Stand-in for a ref whose object is not a lease record: it blocks until it expires like any lease. */
export function unreadableRecord(resource: LeaseResource, ttlMs: number, owner = '(unreadable lease record)'): StoredLeaseRecord {
  return { schema_version: 1, resource: resource.id, owner, nonce: '', ttlMs, acquiredAt: '?', renewedAt: '?', hostname: '?', pid: 0, sequence: 0 };
}
