import { randomBytes } from 'crypto';
import { readFileSync, readdirSync, renameSync, rmSync, statSync } from 'fs';
import * as path from 'path';
import { errnoCode } from '../errors';
import { MutexPaths, placeEntry, removeHolder } from '../lock/mutex';
import { LockOwner, makeOwner } from '../lock/owner';
import { ProcessProbe } from '../lock/process-probe';
import { readdirOrEmpty } from '../util/fs';

/** A per-key lock directory of the core lock that gc removed (or had to put back). */
export interface RemovedLockDir {
  key: string;
  path: string;
}

const LOCK_DIR_NAME = /^[0-9a-f]{32}$/;
const TRASH_KEEP_MS = 3_600_000;

/**
 * What an idle core lock directory (`<lockDir>/<32 hex>`, see lock/mutex.ts)
 * may contain: its key, an empty queue, no claims, an empty superseded dir,
 * and trash. Anything else (a `held` or `held-N` slot, a ticket, a claim, a
 * `tmp-*` of a placement in flight, a name we do not know) means it is in use.
 */
function idleProblem(base: string, now: number, idleMs: number, allowOwnHeld: boolean): string | undefined {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return 'unreadable';
  }
  if (!names.includes('key')) return 'no key file';
  for (const name of names) {
    if (name === 'key' || name.startsWith('trash-')) continue;
    if (name === 'held' && allowOwnHeld) continue;
    if (name === 'q' || name === 'claims' || name === 'superseded') {
      const inner = readdirSync(path.join(base, name));
      if (inner.length > 0) return `${name}/ is not empty`;
      continue;
    }
    return `has ${name}`;
  }
  // Nothing changed for a while: a dir someone is setting up right now is never old.
  // (idleMs 0: the re-checks, right after our own placement changed base's mtime.)
  if (idleMs <= 0) return undefined;
  for (const dir of [base, path.join(base, 'q'), path.join(base, 'claims')]) {
    try {
      if (now - statSync(dir).mtimeMs < idleMs) return 'changed recently';
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') return 'unreadable';
    }
  }
  return undefined;
}

/**
 * Removes per-key lock directories of the core lock that are provably idle,
 * by rename to a trash name so that a locker arriving later re-creates the
 * dir from scratch:
 *
 * 1. idle check: nothing but key, empty q/ claims/ superseded/, trash; no
 *    change for `idleMs`;
 * 2. take slot 0 (`held`) as an ordinary holder, so that no locker can take
 *    the lock while we look (a locker arriving now sees it held and queues);
 * 3. idle check again (allowing our own `held`);
 * 4. rename the dir to `<lockDir>/trash-*`;
 * 5. look inside the trash: every placement (held, held-N, ticket, claim) is
 *    a rename within the dir, so one that landed before step 4 is in the
 *    trash and one after it failed. If something landed between 3 and 4, put
 *    the dir back (if nobody re-created it meanwhile) and release our slot;
 *    otherwise delete the trash.
 *
 * Residual risk (needs lock/mutex.ts to re-create the dir on ENOENT): a
 * locker that ran ensureMutexDirs just before step 4 and places just after
 * gets ENOENT from mkdir of its tmp dir, a clean failure, never a double hold.
 */
export function collectIdleLockDirs(lockDir: string, probe: ProcessProbe, idleMs: number, now: () => number): { removed: RemovedLockDir[]; restored: RemovedLockDir[] } {
  const removed: RemovedLockDir[] = [];
  const restored: RemovedLockDir[] = [];
  for (const name of readdirOrEmpty(lockDir, { emptyWhen: 'unreadable' })) {
    if (name.startsWith('trash-')) {
      // left by a gc that could not put a dir back (see below), or killed mid-delete
      try {
        if (now() - statSync(path.join(lockDir, name)).mtimeMs > TRASH_KEEP_MS) rmSync(path.join(lockDir, name), { recursive: true, force: true });
      } catch {
        // gone already
      }
      continue;
    }
    if (!LOCK_DIR_NAME.test(name)) continue;
    const base = path.join(lockDir, name);
    try {
      const outcome = collectOne(lockDir, base, probe, idleMs, now);
      if (outcome?.removed) removed.push(outcome.dir);
      else if (outcome) restored.push(outcome.dir);
    } catch {
      // a concurrent locker or gc changed it under us: leave it for next time
    }
  }
  return { removed, restored };
}

function collectOne(lockDir: string, base: string, probe: ProcessProbe, idleMs: number, now: () => number): { removed: boolean; dir: RemovedLockDir } | undefined {
  if (idleProblem(base, now(), idleMs, false)) return undefined;
  let key: string;
  try {
    key = readFileSync(path.join(base, 'key'), 'utf8');
  } catch {
    return undefined;
  }
  const paths: MutexPaths = { base, held: path.join(base, 'held'), queue: path.join(base, 'q'), claims: path.join(base, 'claims') };
  const me: LockOwner = makeOwner(key, probe, process.pid, 'lockstep lock gc');
  if (!placeEntry(base, paths.held, me)) return undefined;
  // Our own placement changed base's mtime; the rest must still be idle.
  if (idleProblem(base, now(), 0, true)) {
    removeHolder(paths, me.token, me, probe, 30_000);
    return undefined;
  }
  const trash = path.join(lockDir, `trash-${randomBytes(8).toString('hex')}`);
  try {
    renameSync(base, trash);
  } catch {
    removeHolder(paths, me.token, me, probe, 30_000);
    return undefined;
  }
  const dir = { key, path: base };
  if (!idleProblem(trash, now(), 0, true)) {
    rmSync(trash, { recursive: true, force: true });
    return { removed: true, dir };
  }
  // Someone queued (or took a group slot) between our check and the rename: put it back.
  try {
    renameSync(trash, base);
  } catch {
    // Re-created meanwhile: the trash holds only entries of processes that
    // will find their entry gone (a waiter queues again, a holder reports
    // the lock compromised). Keep it for inspection; sweeps remove it later.
    return { removed: false, dir };
  }
  removeHolder(paths, me.token, me, probe, 30_000);
  return { removed: false, dir };
}
