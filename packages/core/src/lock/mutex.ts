import { createHash, randomBytes } from 'crypto';
import { mkdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';
import { errnoCode } from '../errors';
import { readdirOrEmpty } from '../util/fs';
import { LockOwner, OWNER_FILE, ownerLiveness, readOwner } from './owner';
import { ProcessProbe } from './process-probe';

/**
 * The mutex under a lock key, all in one directory `<lockDir>/<sha256(key)>`:
 *   held/owner.json       the holder (exists iff the lock is held)
 *   q/<seq>/owner.json    FIFO tickets of waiters (see ticket-queue.ts)
 *   claims/<token>[.<token>…]  who is removing the holder with that token
 *   tmp-*, trash-*        staging for rename-into-place, and removed entries
 *
 * Every entry is created by writing owner.json into a private tmp dir and
 * renaming that dir into place: rename onto a non-empty directory fails, so
 * creation is atomic and an entry is never seen without its owner.
 *
 * Removing a holder (release, or reclaim of a dead or stale one) first takes
 * the claim named after the holder's token, then re-reads the token, then
 * renames `held` to a unique trash name. A claim is unique per token, so two
 * processes can never both pass the re-read for the same holder and the
 * second cannot remove a lock the first handed on (the ABA that lets
 * proper-lockfile's stale reclaim admit two holders). A claim left by a killed
 * claimer is taken over under a new, longer name, never reused.
 */
export interface MutexPaths {
  base: string;
  held: string;
  queue: string;
  claims: string;
}

export function mutexPaths(lockDir: string, key: string): MutexPaths {
  const base = path.join(lockDir, createHash('sha256').update(key).digest('hex').slice(0, 32));
  return { base, held: path.join(base, 'held'), queue: path.join(base, 'q'), claims: path.join(base, 'claims') };
}

/**
 * A group admitting `max` holders at once has one `held` entry per slot:
 * `held` (slot 0, the plain lock), `held-1`, `held-2`, … Each slot is a mutex
 * of its own sharing the queue and the claims; with `max` slot names nobody
 * can hold a slot numbered `max` or more, so at most `max` ever hold.
 */
export function slotPaths(paths: MutexPaths, slot: number): MutexPaths {
  return slot === 0 ? paths : { ...paths, held: path.join(paths.base, `held-${slot}`) };
}

/** The slot numbers that are held right now, whatever `max` their holders used. */
export function heldSlots(paths: MutexPaths): number[] {
  return readdirOrEmpty(paths.base, { emptyWhen: 'unreadable' })
    .map((n) => (n === 'held' ? 0 : /^held-\d+$/.test(n) ? Number(n.slice(5)) : -1))
    .filter((n) => n >= 0)
    .sort((a, b) => a - b);
}

export function ensureMutexDirs(paths: MutexPaths, key: string): void {
  mkdirSync(paths.queue, { recursive: true, mode: 0o700 });
  mkdirSync(paths.claims, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path.join(paths.base, 'key'), key, { flag: 'wx' });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
}

const TAKEN = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM', 'EACCES', 'EBUSY']);

/** Creates `target` holding owner.json, atomically. false if it already exists. */
export function placeEntry(base: string, target: string, owner: LockOwner): boolean {
  const tmp = path.join(base, `tmp-${owner.token}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(tmp, { mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    // `lockstep lock gc` removed this idle key directory just now: make it again, whole.
    for (const dir of [path.join(base, 'q'), path.join(base, 'claims'), path.dirname(target)]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(tmp, { mode: 0o700 });
  }
  writeFileSync(path.join(tmp, OWNER_FILE), JSON.stringify(owner));
  try {
    renameSync(tmp, target);
    return true;
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (TAKEN.has(errnoCode(error) ?? '')) return false;
    throw error;
  }
}

/** Renames `entry` to a unique trash name and deletes it; false if it was already gone. */
export function removeEntry(base: string, entry: string): boolean {
  const trash = path.join(base, `trash-${randomBytes(6).toString('hex')}`);
  try {
    renameSync(entry, trash);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
  rmSync(trash, { recursive: true, force: true });
  return true;
}

export type HolderState = 'free' | 'alive' | 'dead' | 'stale';

export interface HolderView {
  state: HolderState;
  /** null when owner.json is unreadable. */
  owner?: LockOwner | null;
  /** The identity a reclaim must see again before removing: the token, or the inode if unreadable. */
  identity?: string;
  ageMs?: number;
}

/**
 * Dead (proven by pid probe) is reclaimable at once; otherwise a holder whose
 * heartbeat is older than the stale window, or in the future by as much
 * (a clock that jumped), is stale and reclaimable too.
 */
export function inspectHolder(paths: MutexPaths, probe: ProcessProbe, staleMs: number, now = Date.now()): HolderView {
  for (;;) {
    // owner, stat, owner again: the holder can change between two calls, and
    // judging one holder by another's heartbeat would reclaim a live lock.
    const owner = readOwner(paths.held);
    if (owner === undefined) return { state: 'free' };
    let stat;
    try {
      stat = statSync(paths.held);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') continue;
      throw error;
    }
    const again = readOwner(paths.held);
    if (again === undefined) continue;
    if ((owner && again && owner.token !== again.token) || (owner === null) !== (again === null)) continue;
    const ageMs = now - stat.mtimeMs;
    const identity = owner ? owner.token : `ino-${stat.ino}`;
    if (owner && ownerLiveness(owner, probe) === 'dead') return { state: 'dead', owner, identity, ageMs };
    if (Math.abs(ageMs) > staleMs) return { state: 'stale', owner, identity, ageMs };
    return { state: 'alive', owner, identity, ageMs };
  }
}

function currentIdentity(paths: MutexPaths): string | undefined {
  try {
    const owner = readOwner(paths.held);
    if (owner === undefined) return undefined;
    return owner ? owner.token : `ino-${statSync(paths.held).ino}`;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Tries to become the holder. */
export function tryTakeHeld(paths: MutexPaths, me: LockOwner): boolean {
  return placeEntry(paths.base, paths.held, me);
}

/**
 * Takes the claim for removing the holder `identity`. Returns the claim path,
 * or undefined if a live process is already removing that holder.
 */
function takeClaim(paths: MutexPaths, identity: string, me: LockOwner, probe: ProcessProbe, staleMs: number): string | undefined {
  return takeClaimNamed(paths.claims, identity, (claim) => placeEntry(paths.base, claim, me), probe, staleMs);
}

/**
 * The claim protocol, shared with the local lease store: create the claim
 * named `firstName` with `place` (atomic, false if it exists); a claim left by
 * a dead claimer (or one whose heartbeat is older than `staleMs`) is
 * continued under a longer name nobody used before, never reused. Returns the
 * claim path, or undefined if a live process holds it.
 */
export function takeClaimNamed(claimsDir: string, firstName: string, place: (claim: string) => boolean, probe: ProcessProbe, staleMs: number): string | undefined {
  let name = firstName;
  for (let depth = 0; depth < 16; depth++) {
    const claim = path.join(claimsDir, name);
    if (place(claim)) return claim;
    const claimer = readOwner(claim);
    if (claimer === undefined) continue; // dropped just now: try the same name again
    let ageMs = 0;
    try {
      ageMs = Date.now() - statSync(claim).mtimeMs;
    } catch {
      continue;
    }
    const liveness = claimer ? ownerLiveness(claimer, probe) : 'unknown';
    if (liveness === 'dead' || (liveness === 'unknown' && Math.abs(ageMs) > staleMs)) {
      // The claimer died mid-change: continue under a name nobody used before.
      name = `${name}.${claimer ? claimer.token : 'x'}`;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** Removes the claims `prefix` and its continuations (`prefix.<token>…`) from `claimsDir`. */
export function dropClaimsNamed(base: string, claimsDir: string, prefix: string): void {
  for (const name of readdirOrEmpty(claimsDir, { emptyWhen: 'unreadable' })) {
    if (name === prefix || name.startsWith(`${prefix}.`)) removeEntry(base, path.join(claimsDir, name));
  }
}

function dropClaims(paths: MutexPaths, identity: string): void {
  dropClaimsNamed(paths.base, paths.claims, identity);
}

/** Removes the holder `identity` if it is still the holder. true if this call removed it. */
export function removeHolder(paths: MutexPaths, identity: string, me: LockOwner, probe: ProcessProbe, staleMs: number): boolean {
  const claim = takeClaim(paths, identity, me, probe, staleMs);
  if (claim === undefined) return false;
  try {
    if (currentIdentity(paths) !== identity) return false;
    return removeEntry(paths.base, paths.held);
  } finally {
    dropClaims(paths, identity);
  }
}

/** Refreshes the holder's heartbeat (the mtime of `held`); false if we are no longer the holder. */
export function touchHeld(paths: MutexPaths, token: string, now = new Date()): boolean {
  try {
    if (readOwner(paths.held)?.token !== token) return false;
    utimesSync(paths.held, now, now);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Removes `tmp-*` dirs of dead processes and old `trash-*` dirs that a killed process left behind. */
export function sweepLeftovers(paths: MutexPaths, probe: ProcessProbe, olderThanMs = 60_000): void {
  for (const name of readdirOrEmpty(paths.base, { emptyWhen: 'unreadable' })) {
    const full = path.join(paths.base, name);
    try {
      if (name.startsWith('tmp-')) {
        const owner = readOwner(full);
        const age = Date.now() - statSync(full).mtimeMs;
        if ((owner && ownerLiveness(owner, probe) === 'dead') || age > olderThanMs) rmSync(full, { recursive: true, force: true });
      } else if (name.startsWith('trash-') && Date.now() - statSync(full).mtimeMs > olderThanMs) {
        rmSync(full, { recursive: true, force: true });
      }
    } catch {
      // another process swept it first
    }
  }
}
