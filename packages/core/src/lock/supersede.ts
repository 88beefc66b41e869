import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { errnoCode } from '../errors';
import { randomBytes } from 'crypto';
import * as path from 'path';
import { MutexPaths } from './mutex';
import { LockOwner, ownerLiveness } from './owner';
import { ProcessProbe } from './process-probe';
import { readdirOrEmpty } from '../util/fs';

/**
 * cancelInProgress: a newer run supersedes an older one by first recording
 * who asked (`<base>/superseded/<token>`, so the older run can say by whom),
 * then sending SIGTERM, and SIGKILL to its process tree once the grace
 * window is over. Only processes on this host that the pid probe proves to
 * be the recorded owner (same start time) are ever signalled.
 */
export interface SupersedeRequest {
  /** The newer run, without its token. */
  by: Omit<LockOwner, 'token'>;
  at: string;
}

export const DEFAULT_KILL_GRACE_MS = 30_000;

export function killGraceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.LOCKSTEP_KILL_GRACE_MS);
  return Number.isFinite(value) && value >= 0 && env.LOCKSTEP_KILL_GRACE_MS !== '' && env.LOCKSTEP_KILL_GRACE_MS !== undefined ? value : DEFAULT_KILL_GRACE_MS;
}

function requestPath(paths: MutexPaths, token: string): string {
  return path.join(paths.base, 'superseded', token);
}

/** Records the request; false if one was recorded already (exactly one asker signals). */
export function writeSupersedeRequest(paths: MutexPaths, target: LockOwner, by: LockOwner): boolean {
  const dir = path.join(paths.base, 'superseded');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { token: _token, ...publicBy } = by;
  const tmp = path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify({ by: publicBy, at: new Date().toISOString() } satisfies SupersedeRequest));
  try {
    linkSync(tmp, requestPath(paths, target.token));
    return true;
  } catch (error) {
    // Only "already asked" means someone else signals; any other failure must not
    // end in a SIGKILL that was never preceded by a SIGTERM.
    return errnoCode(error) !== 'EEXIST';
  } finally {
    rmSync(tmp, { force: true });
  }
}

export function readSupersedeRequest(paths: MutexPaths, token: string): SupersedeRequest | undefined {
  try {
    return JSON.parse(readFileSync(requestPath(paths, token), 'utf8')) as SupersedeRequest;
  } catch {
    return undefined;
  }
}

export function clearSupersedeRequest(paths: MutexPaths, token: string): void {
  rmSync(requestPath(paths, token), { force: true });
}

/** Removes requests older than an hour (their targets are long gone). */
export function sweepSupersedeRequests(paths: MutexPaths, olderThanMs = 3_600_000): void {
  const dir = path.join(paths.base, 'superseded');
  for (const name of readdirOrEmpty(dir, { emptyWhen: 'unreadable' })) {
    const file = path.join(dir, name);
    try {
      // by age of the file, never by whether it parses: a request being written does not parse yet
      if (Date.now() - statSync(file).mtimeMs > olderThanMs) rmSync(file, { force: true });
    } catch {
      // removed by another sweeper
    }
  }
}

/** Signals `owner`'s process if, and only if, it provably is that process on this host. */
export function signalOwner(owner: LockOwner, signal: NodeJS.Signals, probe: ProcessProbe): boolean {
  if (owner.pid === process.pid || ownerLiveness(owner, probe) !== 'alive' || owner.startTime === undefined) return false;
  if (signal === 'SIGKILL') {
    // Children first (a publish task of an Nx run outlives its root otherwise), then the root.
    for (const pid of descendants(owner.pid).reverse()) trySignal(pid, signal);
  }
  return trySignal(owner.pid, signal);
}

function trySignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Descendants of `root` from /proc (Linux), parents before children; [] elsewhere. */
export function descendants(root: number): number[] {
  const entries = readdirOrEmpty('/proc', { emptyWhen: 'unreadable' }).filter((n) => /^\d+$/.test(n));
  const children = new Map<number, number[]>();
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}
