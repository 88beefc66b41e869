import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { errnoCode } from '../errors';
import { safeText } from '../util/display';
import { ProcessProbe } from './process-probe';

/** Who holds a lock or waits in its queue: written as owner.json inside the entry. */
export interface LockOwner {
  key: string;
  token: string;
  pid: number;
  hostname: string;
  /** /proc start time of `pid`, so a recycled pid is not mistaken for the holder. */
  startTime?: string;
  user: string;
  command: string;
  startedAt: string;
  /** The `max` this process uses for the key (holders admitted at once): every user of a key must agree. */
  max?: number;
}

export const OWNER_FILE = 'owner.json';

export function newToken(): string {
  return randomBytes(12).toString('hex');
}

export function makeOwner(key: string, probe: ProcessProbe, pid: number, command?: string, max?: number): LockOwner {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (some containers): the uid-owned lock dir still identifies us
  }
  return {
    key,
    token: newToken(),
    pid,
    hostname: probe.hostname(),
    startTime: probe.startTime(pid),
    user,
    command: command ?? defaultCommand(),
    startedAt: new Date().toISOString(),
    ...(max !== undefined ? { max } : {}),
  };
}

function defaultCommand(): string {
  const argv = process.argv.slice(1).map((a) => (a.includes(path.sep) ? path.basename(a) : a));
  return ['node', ...argv].join(' ').slice(0, 300);
}

/** Reads owner.json of a lock or ticket dir; undefined if absent, null if unreadable (torn by hand, or foreign). */
export function readOwner(entryDir: string): LockOwner | undefined | null {
  let text: string;
  try {
    text = readFileSync(path.join(entryDir, OWNER_FILE), 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return typeof owner.token === 'string' && typeof owner.pid === 'number' ? owner : null;
  } catch {
    return null;
  }
}

export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * 'dead' only when we can prove it: same host and the pid is gone, or the pid
 * now belongs to a process that started at another time. Other hosts are
 * 'unknown' and left to the stale window.
 */
export function ownerLiveness(owner: LockOwner, probe: ProcessProbe): Liveness {
  if (owner.hostname !== probe.hostname()) return 'unknown';
  if (!probe.isAlive(owner.pid)) return 'dead';
  if (owner.startTime !== undefined) {
    const now = probe.startTime(owner.pid);
    if (now !== undefined && now !== owner.startTime) return 'dead';
  }
  return 'alive';
}

/** For messages: the fields come from a file other processes write, so they are shown escaped. */
export function describeOwner(owner: Omit<LockOwner, 'token'>): string {
  return `pid ${owner.pid} on ${safeText(owner.hostname)} (user ${safeText(owner.user)}, command '${safeText(owner.command)}') since ${safeText(owner.startedAt)}`;
}

/** Two owners of one run: same key, host, pid and process start time (the task processes of one Nx invocation). */
export function sameRun(a: LockOwner, b: LockOwner): boolean {
  return a.key === b.key && a.hostname === b.hostname && a.pid === b.pid && a.startTime === b.startTime;
}
