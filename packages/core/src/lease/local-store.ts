import { createHash, randomBytes } from 'crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';
import { errnoCode } from '../errors';
import { dropClaimsNamed, removeEntry, takeClaimNamed } from '../lock/mutex';
import { LockOwner, ownerLiveness, readOwner } from '../lock/owner';
import { ProcessProbe } from '../lock/process-probe';
import { readdirOrEmpty } from '../util/fs';
import type { LeaseRecord } from './types';

/**
 * The local lease store, all under `<lockDir>/leases/`:
 *
 *   <sha256(id) first 32 hex>/lease.json   a lease (the entry exists iff it is held)
 *   claims/<hash>.<rev>[.<token>…]          who is changing or removing the entry at revision <rev>
 *   tmp-*, trash-*                          staging for rename-into-place, and removed entries
 *
 * An entry is created by writing lease.json into a private tmp dir and renaming
 * the dir into place: rename onto a non-empty dir fails, so exactly one
 * creator wins. Entries sit directly under `leases/` (no per-resource
 * container dir), so removing a lease leaves nothing that a garbage collector
 * would have to remove under the feet of a concurrent creator.
 *
 * Every write after creation (renew, finalise, takeover, release) is a
 * compare-and-swap on the entry's `rev`, a random value that every write
 * changes: take the claim named after the rev you saw (a dir created by
 * rename, so unique), re-read the rev, write (tmp file + rename onto
 * lease.json) or remove (rename the entry to a unique trash name), drop the
 * claim. Two writers of one revision cannot both pass, and a takeover that saw
 * an expired lease cannot remove it once its owner renewed it. A claim left by
 * a killed process is taken over under a new, longer name, never reused (as in
 * lock/mutex.ts).
 */
export interface StoredLease extends LeaseRecord {
  /** Changes on every write: what a compare-and-swap compares. */
  rev: string;
  /** Placed, conflict scan not finished: not held yet, but in everyone's way. */
  pending?: boolean;
  /** /proc start time of `pid`: a pending entry of a dead placer is garbage. */
  startTime?: string;
}

export const LEASE_FILE = 'lease.json';

export interface LeaseStorePaths {
  root: string;
  claims: string;
}

export function leaseStorePaths(lockDir: string): LeaseStorePaths {
  const root = path.join(lockDir, 'leases');
  return { root, claims: path.join(root, 'claims') };
}

export function ensureLeaseStore(paths: LeaseStorePaths): void {
  mkdirSync(paths.claims, { recursive: true, mode: 0o700 });
}

export function leaseHash(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 32);
}

export const ENTRY_NAME = /^[0-9a-f]{32}$/;

export function entryPath(paths: LeaseStorePaths, hash: string): string {
  return path.join(paths.root, hash);
}

export function newRev(): string {
  return randomBytes(9).toString('hex');
}

export function newNonce(): string {
  return randomBytes(12).toString('hex');
}

/** One consistent reading of an entry. */
export interface EntryRead {
  hash: string;
  dir: string;
  /** null when lease.json is missing or not a lease (damaged by hand). */
  lease: StoredLease | null;
  /** mtime of the lease.json version read (or of the dir, if unreadable): the last renew, on the filesystem's clock. */
  mtimeMs: number;
  /** What a compare-and-swap must see again: the rev, or the dir's inode when unreadable. */
  identity: string;
}

function isStoredLease(value: unknown): value is StoredLease {
  const v = value as StoredLease;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.rev === 'string' &&
    typeof v.resource === 'string' &&
    typeof v.owner === 'string' &&
    typeof v.nonce === 'string' &&
    typeof v.ttlMs === 'number' &&
    typeof v.pid === 'number'
  );
}

/**
 * Reads an entry: undefined if there is none. The record and its mtime come
 * from one open file (fstat on the descriptor), so they always belong to the
 * same version even while the entry is being renewed.
 */
export function readEntry(paths: LeaseStorePaths, hash: string): EntryRead | undefined {
  const dir = entryPath(paths, hash);
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = openSync(path.join(dir, LEASE_FILE), 'r');
    } catch (error) {
      const code = errnoCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      // No lease.json: no entry, unless an entry (which always comes with its
      // lease.json) was placed between the open and now; look again before
      // calling it damaged.
      const damaged = readDamaged(hash, dir);
      if (damaged === undefined || attempt >= 2) return damaged;
    }
  }
  let text: string;
  let stat;
  try {
    stat = fstatSync(fd);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let lease: StoredLease | null = null;
  try {
    const parsed = JSON.parse(text);
    if (isStoredLease(parsed)) lease = parsed;
  } catch {
    // damaged by hand
  }
  if (lease) return { hash, dir, lease, mtimeMs: stat.mtimeMs, identity: lease.rev };
  return { hash, dir, lease: null, mtimeMs: stat.mtimeMs, identity: `ino-${stat.ino}` };
}

function readDamaged(hash: string, dir: string): EntryRead | undefined {
  try {
    const stat = statSync(dir);
    return { hash, dir, lease: null, mtimeMs: stat.mtimeMs, identity: `ino-${stat.ino}` };
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** The hashes of every entry under leases/. */
export function listEntries(paths: LeaseStorePaths): string[] {
  return readdirOrEmpty(paths.root).filter((n) => ENTRY_NAME.test(n));
}

const TAKEN = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM', 'EACCES', 'EBUSY']);

/** Creates a dir `target` holding `file` with `content`, atomically. false if `target` exists. */
export function placeDir(root: string, target: string, file: string, content: string): boolean {
  const tmp = path.join(root, `tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    writeFileSync(path.join(tmp, file), content, { mode: 0o600 });
    renameSync(tmp, target);
    return true;
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    // ENOENT: a sweep took our tmp dir after a very long stall; the caller looks again.
    if (TAKEN.has(errnoCode(error) ?? '') || errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Creates the entry for `hash`. false if one exists. */
export function placeLease(paths: LeaseStorePaths, hash: string, lease: StoredLease): boolean {
  return placeDir(paths.root, entryPath(paths, hash), LEASE_FILE, JSON.stringify(lease));
}

export type CasOutcome = 'done' | 'changed' | 'busy';

/**
 * Takes the claim for changing entry `hash` at `identity`. Returns the claim
 * path; 'busy' if a live process holds that claim.
 */
function takeClaim(paths: LeaseStorePaths, hash: string, identity: string, me: LockOwner, probe: ProcessProbe, staleMs: number): string | 'busy' {
  const place = (claim: string) => placeDir(paths.root, claim, 'owner.json', JSON.stringify(me));
  return takeClaimNamed(paths.claims, `${hash}.${identity}`, place, probe, staleMs) ?? 'busy';
}

function dropClaims(paths: LeaseStorePaths, hash: string, identity: string): void {
  dropClaimsNamed(paths.root, paths.claims, `${hash}.${identity}`);
}

function currentIdentity(paths: LeaseStorePaths, hash: string): string | undefined {
  return readEntry(paths, hash)?.identity;
}

export interface CasContext {
  me: LockOwner;
  probe: ProcessProbe;
  /** A claim whose holder cannot be probed (another host) is taken over after this long. */
  claimStaleMs: number;
}

/** Removes entry `hash` if it is still at `identity`. */
export function removeLeaseCas(paths: LeaseStorePaths, hash: string, identity: string, ctx: CasContext): CasOutcome {
  const claim = takeClaim(paths, hash, identity, ctx.me, ctx.probe, ctx.claimStaleMs);
  if (claim === 'busy') return 'busy';
  try {
    if (currentIdentity(paths, hash) !== identity) return 'changed';
    return removeEntry(paths.root, entryPath(paths, hash)) ? 'done' : 'changed';
  } finally {
    dropClaims(paths, hash, identity);
  }
}

/** Replaces lease.json of entry `hash` with `next` if the entry is still at `identity`. */
export function writeLeaseCas(paths: LeaseStorePaths, hash: string, identity: string, next: StoredLease, ctx: CasContext): CasOutcome {
  const claim = takeClaim(paths, hash, identity, ctx.me, ctx.probe, ctx.claimStaleMs);
  if (claim === 'busy') return 'busy';
  const dir = entryPath(paths, hash);
  try {
    if (currentIdentity(paths, hash) !== identity) return 'changed';
    const tmp = path.join(dir, `${LEASE_FILE}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      writeFileSync(tmp, JSON.stringify(next), { mode: 0o600 });
      renameSync(tmp, path.join(dir, LEASE_FILE));
    } catch (error) {
      rmSync(tmp, { force: true });
      if (errnoCode(error) === 'ENOENT') return 'changed';
      throw error;
    }
    return 'done';
  } finally {
    dropClaims(paths, hash, identity);
  }
}

/**
 * Removes what killed processes left behind: tmp dirs of dead placers (or
 * older than `olderThanMs`), trash, claims of dead claimers, and renew tmp
 * files inside entries. Never a live claim: that would let two writers pass
 * the same compare-and-swap.
 */
export function sweepLeaseStore(paths: LeaseStorePaths, probe: ProcessProbe, olderThanMs: number, now = Date.now()): void {
  const ageOf = (p: string) => now - statSync(p).mtimeMs;
  for (const name of readdirOrEmpty(paths.root, { emptyWhen: 'unreadable' })) {
    const full = path.join(paths.root, name);
    try {
      if (name.startsWith('tmp-')) {
        const pid = Number(name.split('-')[1]);
        if (!probe.isAlive(pid) || ageOf(full) > olderThanMs) rmSync(full, { recursive: true, force: true });
      } else if (name.startsWith('trash-')) {
        if (ageOf(full) > olderThanMs) rmSync(full, { recursive: true, force: true });
      } else if (ENTRY_NAME.test(name)) {
        for (const inner of readdirSync(full)) {
          if (inner.endsWith('.tmp') && ageOf(path.join(full, inner)) > olderThanMs) rmSync(path.join(full, inner), { force: true });
        }
      }
    } catch {
      // gone already: another process swept it
    }
  }
  for (const name of readdirOrEmpty(paths.claims, { emptyWhen: 'unreadable' })) {
    const full = path.join(paths.claims, name);
    try {
      const claimer = readOwner(full);
      if (claimer === undefined) continue;
      const dead = claimer !== null && ownerLiveness(claimer, probe) === 'dead';
      if (dead || (claimer === null && ageOf(full) > olderThanMs)) removeEntry(paths.root, full);
    } catch {
      // gone already
    }
  }
}
