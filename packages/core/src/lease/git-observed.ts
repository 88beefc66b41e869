import { randomBytes } from 'crypto';
import { promises as fsp, readFileSync } from 'fs';
import * as path from 'path';
import { tempSiblingPath } from '../atomic/temp-name';
import { toStoredRecord, type StoredLeaseRecord } from './git-record';

/**
 * One observation: this ref has pointed at `oid` at least since `since`
 * (process.hrtime.bigint(), i.e. CLOCK_MONOTONIC, shared by every process of
 * one boot). Commits are never reused (each version has a new nonce or
 * sequence), so "seen at t and still there now" means "unchanged since t".
 */
export interface Observation {
  oid: string;
  since: bigint;
  /** The record of `oid`, cached so a known version is never read twice. */
  record?: StoredLeaseRecord;
}

interface ObservedFile {
  version: 1;
  bootId: string;
  remotes: Record<string, Record<string, { oid: string; since: string; record?: StoredLeaseRecord }>>;
}

let cachedBootId: string | undefined;

/**
 * The kernel's id of this boot: observations made by earlier processes of the
 * same boot continue; after a reboot (a new monotonic clock) they restart.
 * Without /proc (not Linux) a per-process id: observations then never carry
 * over between processes, which only makes expiry later, never earlier.
 */
export function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
    if (!cachedBootId) cachedBootId = `process-${process.pid}-${randomBytes(8).toString('hex')}`;
  }
  return cachedBootId;
}

export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * Observations of the lease refs of one remote, kept in memory and in a JSON
 * file in the clone's git dir (written to a temp sibling, then renamed).
 * Processes sharing the file merge what they saw: for the same oid the
 * earliest sighting wins. Losing an observation to a concurrent writer only
 * restarts it, which makes a lease expire later, never sooner.
 */
export class ObservationStore {
  private readonly entries = new Map<string, Observation>();
  /** Refs (and the oid) this process saw vanish since the last save. */
  private readonly removed = new Map<string, string>();
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly remote: string,
  ) {}

  get(ref: string): Observation | undefined {
    return this.entries.get(ref);
  }

  refs(): string[] {
    return [...this.entries.keys()];
  }

  /** Records that `ref` points at `oid` as of `at`. Returns true when this starts a new observation. */
  observe(ref: string, oid: string, at: bigint): boolean {
    const current = this.entries.get(ref);
    if (current && current.oid === oid) {
      if (at < current.since) {
        current.since = at;
        this.dirty = true;
      }
      return false;
    }
    this.entries.set(ref, { oid, since: at });
    this.removed.delete(ref);
    this.dirty = true;
    return true;
  }

  setRecord(ref: string, oid: string, record: StoredLeaseRecord): void {
    const current = this.entries.get(ref);
    if (current && current.oid === oid && !current.record) {
      current.record = record;
      this.dirty = true;
    }
  }

  /** The ref no longer points at `oid` (deleted, or not listed any more). */
  forget(ref: string): void {
    const current = this.entries.get(ref);
    if (!current) return;
    this.entries.delete(ref);
    this.removed.set(ref, current.oid);
    this.dirty = true;
  }

  /** After a full listing: forget every ref that was not listed. */
  retainOnly(listed: Set<string>): void {
    for (const ref of [...this.entries.keys()]) if (!listed.has(ref)) this.forget(ref);
  }

  async load(): Promise<void> {
    const { entries: stored } = await this.readFile();
    for (const [ref, entry] of stored) this.mergeIn(ref, entry);
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const { data, entries: stored } = await this.readFile();
    for (const [ref, oid] of this.removed) {
      if (stored.get(ref)?.oid === oid) stored.delete(ref);
    }
    for (const [ref, mine] of this.entries) {
      const theirs = stored.get(ref);
      if (theirs && theirs.oid === mine.oid) {
        stored.set(ref, { oid: mine.oid, since: mine.since < theirs.since ? mine.since : theirs.since, record: mine.record ?? theirs.record });
      } else if (!theirs || mine.since >= theirs.since) {
        // Different versions: keep the later sighting (most likely the newer version). Either is safe.
        stored.set(ref, mine);
      }
    }
    const out: ObservedFile['remotes'][string] = {};
    for (const [ref, e] of stored) out[ref] = { oid: e.oid, since: e.since.toString(), ...(e.record ? { record: e.record } : {}) };
    data.remotes[this.remote] = out;
    try {
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      const temp = tempSiblingPath(this.file);
      try {
        await fsp.writeFile(temp, JSON.stringify(data));
        await fsp.rename(temp, this.file);
      } catch (error) {
        await fsp.rm(temp, { force: true });
        throw error;
      }
      this.dirty = false;
      this.removed.clear();
    } catch {
      // Best effort: an observation that is not persisted restarts in the next process (expiry later, never sooner).
    }
  }

  private mergeIn(ref: string, entry: Observation): void {
    if (this.removed.get(ref) === entry.oid) return;
    const current = this.entries.get(ref);
    if (!current) {
      this.entries.set(ref, entry);
    } else if (current.oid === entry.oid) {
      if (entry.since < current.since) current.since = entry.since;
      current.record ??= entry.record;
    } else if (entry.since > current.since) {
      this.entries.set(ref, entry);
    }
  }

  private async readFile(): Promise<{ data: ObservedFile; entries: Map<string, Observation> }> {
    const entries = new Map<string, Observation>();
    const fresh = (): ObservedFile => ({ version: 1, bootId: bootId(), remotes: {} });
    let raw: ObservedFile;
    try {
      raw = JSON.parse(await fsp.readFile(this.file, 'utf8')) as ObservedFile;
    } catch {
      return { data: fresh(), entries };
    }
    // Another boot's monotonic clock means nothing here: its observations restart.
    if (!raw || raw.version !== 1 || raw.bootId !== bootId() || !raw.remotes || typeof raw.remotes !== 'object') {
      return { data: fresh(), entries };
    }
    const stored = raw.remotes[this.remote];
    if (stored && typeof stored === 'object') {
      for (const [ref, e] of Object.entries(stored)) {
        if (!e || typeof e.oid !== 'string' || typeof e.since !== 'string' || !/^\d+$/.test(e.since)) continue;
        const record = toStoredRecord(e.record, ref);
        entries.set(ref, { oid: e.oid, since: BigInt(e.since), ...(record ? { record } : {}) });
      }
    }
    return { data: raw, entries };
  }
}
