import { statSync, utimesSync } from 'fs';
import * as path from 'path';
import { MutexPaths, placeEntry, removeEntry } from './mutex';
import { LockOwner, ownerLiveness, readOwner } from './owner';
import { ProcessProbe } from './process-probe';
import { readdirOrEmpty } from '../util/fs';

/**
 * FIFO order on top of the mutex: each waiter takes the next numbered ticket
 * and only the waiter with the lowest ticket tries the mutex. A waiter watches
 * only its direct predecessor and removes it if it died. Tickets decide who
 * may try; mutual exclusion still comes from the mutex alone.
 */
const SEQ_WIDTH = 16;

export interface Ticket {
  seq: number;
  path: string;
}

export function listTickets(paths: MutexPaths): Ticket[] {
  return readdirOrEmpty(paths.queue)
    .filter((n) => /^\d+$/.test(n))
    .map((n) => ({ seq: Number(n), path: path.join(paths.queue, n) }))
    .sort((a, b) => a.seq - b.seq);
}

/** Takes a ticket after every ticket that exists now. */
export function enqueue(paths: MutexPaths, me: LockOwner): Ticket {
  for (;;) {
    const tickets = listTickets(paths);
    const seq = (tickets.length ? tickets[tickets.length - 1].seq : 0) + 1;
    const ticketPath = path.join(paths.queue, String(seq).padStart(SEQ_WIDTH, '0'));
    if (placeEntry(paths.base, ticketPath, me)) return { seq, path: ticketPath };
  }
}

export function leaveQueue(paths: MutexPaths, ticket: Ticket): void {
  removeEntry(paths.base, ticket.path);
}

export function touchTicket(ticket: Ticket, now = new Date()): void {
  try {
    utimesSync(ticket.path, now, now);
  } catch {
    // removed by a successor who judged us dead: the wait loop notices
  }
}

export function ticketExists(ticket: Ticket): boolean {
  try {
    statSync(ticket.path);
    return true;
  } catch {
    return false;
  }
}

/** Removes `ticket` if its owner is provably dead or its heartbeat is stale. */
export function removeIfAbandoned(paths: MutexPaths, ticket: Ticket, probe: ProcessProbe, staleMs: number): boolean {
  const owner = readOwner(ticket.path);
  if (owner === undefined) return false;
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(ticket.path).mtimeMs;
  } catch {
    return false;
  }
  const dead = owner !== null && ownerLiveness(owner, probe) === 'dead';
  if (!dead && Math.abs(ageMs) <= staleMs) return false;
  return removeEntry(paths.base, ticket.path);
}
