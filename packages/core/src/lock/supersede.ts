import { randomBytes } from 'crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { errnoCode } from '../errors';
import { readdirOrEmpty } from '../util/fs';
import { HolderView, MutexPaths } from './mutex';
import { LockOwner, ownerLiveness, readOwner, sameRun } from './owner';
import { ProcessProbe } from './process-probe';
import { Ticket } from './ticket-queue';

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

export interface SupersedeOptions {
  /** SIGTERM first, SIGKILL after this long. Default LOCKSTEP_KILL_GRACE_MS or 30 s. */
  graceMs?: number;
  /** Told about every run superseded, and when its grace ran out. */
  onSupersede?: (target: LockOwner, action: 'SIGTERM' | 'SIGKILL', role: 'holder' | 'waiter') => void;
}

/**
 * The newer run's side of cancelInProgress. Every run ahead is asked once
 * (request file, then SIGTERM); a holder still holding the same token when
 * its grace window ends gets SIGKILL on its process tree, and the dead hold
 * is then reclaimed by the normal pid probe.
 */
export class Superseder {
  private readonly asked = new Map<string, { owner: LockOwner; at: number; killed: boolean }>();
  private readonly graceMs: number;

  constructor(
    private readonly paths: MutexPaths,
    private readonly me: LockOwner,
    private readonly probe: ProcessProbe,
    private readonly options: SupersedeOptions,
  ) {
    this.graceMs = options.graceMs ?? killGraceFromEnv();
    // Requests whose targets were SIGKILLed (and so never cleared their own) go after an hour.
    sweepSupersedeRequests(paths);
  }

  waitersAhead(ahead: Ticket[]): void {
    for (const ticket of ahead) {
      const owner = readOwner(ticket.path);
      if (owner) this.ask(owner, 'waiter');
    }
  }

  /** Called when we are first in line and every slot is held. */
  holders(live: HolderView[]): void {
    const target = live.find((h) => h.owner && !sameRun(h.owner, this.me))?.owner;
    if (target) this.ask(target, 'holder');
    for (const [token, asked] of this.asked) {
      if (asked.killed || performance.now() - asked.at < this.graceMs) continue;
      if (!live.some((h) => h.owner?.token === token)) continue;
      asked.killed = true;
      this.options.onSupersede?.(asked.owner, 'SIGKILL', 'holder');
      signalOwner(asked.owner, 'SIGKILL', this.probe);
    }
  }

  private ask(owner: LockOwner, role: 'holder' | 'waiter'): void {
    if (this.asked.has(owner.token) || owner.token === this.me.token || sameRun(owner, this.me)) return;
    this.asked.set(owner.token, { owner, at: performance.now(), killed: false });
    // Asked already (by another task of our run, or another newer run): a second
    // SIGTERM would make some programs (a lockstep run among them) stop at once, not gracefully.
    if (!writeSupersedeRequest(this.paths, owner, this.me)) return;
    this.options.onSupersede?.(owner, 'SIGTERM', role);
    signalOwner(owner, 'SIGTERM', this.probe);
  }
}
