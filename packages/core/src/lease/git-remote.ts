import * as path from 'path';
import { gitCommandError } from './errors';
import { gitEnv, runGit, type GitRunOptions } from './git-exec';
import { monotonicNs, ObservationStore } from './git-observed';
import { commitMessage, LEASE_REF_PATTERN, LEASE_REF_PREFIX, parseCatFileBatch, toStoredRecord, type StoredLeaseRecord } from './git-record';

/**
 * The git backend's operations on the remote: list the lease refs
 * (`ls-remote`, each sighting recorded as an observation), read the records
 * behind them (`cat-file --batch`, fetching by oid what the clone lacks), and
 * write them by compare-and-swap (`push --force-with-lease=<ref>:<expected>`).
 * See git.ts for the protocol these serve.
 */

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
export const OID = /^[0-9a-f]{40}$/;
/**
 * Refusals that mean "the ref was not at the expected value": git's own lease
 * check ("stale info"), or the remote's check of the old value under its ref
 * lock when another push got there between our read and our write
 * ("failed to update ref", "cannot lock ref …: reference already exists / is
 * at … but expected … / Unable to create ….lock").
 */
const LOST_RACE = /stale info|failed to (update|delete|lock)|cannot lock ref|reference already exists|but expected|incorrect old value|reference is missing/i;

/** One operation's view: the shared observations and which of them began during it. */
export interface Ctx {
  store: ObservationStore;
  startedNow: Set<string>;
}

export interface RefUpdate {
  ref: string;
  /** The new oid, or null to delete. */
  oid: string | null;
  /** The oid the ref must still have, or null: must not exist. */
  expect: string | null;
}

/** A ref's record: read, gone before it could be read ('missing'), or an object that is not a lease ('invalid'). */
export type RecordRead = StoredLeaseRecord | 'missing' | 'invalid';

export interface LeaseRemoteOptions {
  /** A git working tree (a clone) whose remote holds the leases. */
  cwd: string;
  remote: string;
  env: NodeJS.ProcessEnv;
  /** Where observations are kept. Default `<git common dir>/lockstep`. */
  stateDir?: string;
  /** Longest one git command may take. Default 120 s. */
  gitTimeoutMs?: number;
}

export class LeaseRemote {
  readonly remote: string;
  private readonly env: NodeJS.ProcessEnv;
  private storePromise?: Promise<ObservationStore>;
  /** ref → resource id: fixed for a ref (its name is the hash of the id), so learnt once per process. */
  private readonly refResources = new Map<string, string>();
  /** Objects under refs/lockstep/locks/ that are not lease records: never read twice. */
  private readonly invalidOids = new Set<string>();

  constructor(private readonly options: LeaseRemoteOptions) {
    this.remote = options.remote;
    this.env = gitEnv(options.env);
  }

  /** The resource id behind `ref`, if this process or the observations know it. */
  knownResource(ctx: Ctx, ref: string): string | undefined {
    return this.refResources.get(ref) ?? ctx.store.get(ref)?.record?.resource;
  }

  /** Starts an operation: the observations as every process of this clone left them. Call `ctx.store.save()` when done. */
  async begin(): Promise<Ctx> {
    const store = await this.store();
    await store.load();
    return { store, startedNow: new Set() };
  }

  /** Runs `fn` in an operation of its own, saving the observations however it ends. */
  async session<T>(fn: (ctx: Ctx) => Promise<T>): Promise<T> {
    const ctx = await this.begin();
    try {
      return await fn(ctx);
    } finally {
      await ctx.store.save();
    }
  }

  private store(): Promise<ObservationStore> {
    if (!this.storePromise) {
      this.storePromise = (async () => {
        let dir = this.options.stateDir;
        if (!dir) {
          const out = await this.git(['rev-parse', '--git-common-dir']);
          dir = path.join(path.resolve(this.options.cwd, out.stdout.trim()), 'lockstep');
        }
        return new ObservationStore(path.join(dir, 'observed.json'), this.remote);
      })();
      this.storePromise.catch(() => (this.storePromise = undefined));
    }
    return this.storePromise;
  }

  private git(args: string[], extra: Partial<GitRunOptions> = {}) {
    return runGit(args, { cwd: this.options.cwd, env: this.env, timeoutMs: this.options.gitTimeoutMs ?? 120_000, ...extra });
  }

  /**
   * `git ls-remote`: every lease ref (refs omitted) or just `refs`. Each
   * sighting is recorded as an observation dated when the answer arrived.
   */
  async lsRemote(ctx: Ctx, refs?: string[]): Promise<Map<string, string>> {
    const out = await this.git(['ls-remote', this.remote, ...(refs ?? [`${LEASE_REF_PREFIX}*`])]);
    const at = monotonicNs();
    const listing = new Map<string, string>();
    for (const line of out.stdout.split('\n')) {
      const [oid, ref] = line.split('\t');
      if (!ref || !OID.test(oid) || !LEASE_REF_PATTERN.test(ref)) continue;
      if (refs && !refs.includes(ref)) continue;
      listing.set(ref, oid);
      if (ctx.store.observe(ref, oid, at)) ctx.startedNow.add(ref);
    }
    if (refs) {
      for (const ref of refs) if (!listing.has(ref)) ctx.store.forget(ref);
    } else {
      ctx.store.retainOnly(new Set(listing.keys()));
    }
    return listing;
  }

  /** The oid of one ref now, or undefined when it does not exist. */
  async current(ctx: Ctx, ref: string): Promise<string | undefined> {
    return (await this.lsRemote(ctx, [ref])).get(ref);
  }

  async recordOf(ctx: Ctx, ref: string, oid: string): Promise<RecordRead> {
    return (await this.records(ctx, [[ref, oid]])).get(ref) ?? 'missing';
  }

  /** The records behind (ref, oid) pairs: from the cache, the local object store, or fetched by oid. */
  async records(ctx: Ctx, wanted: [string, string][]): Promise<Map<string, RecordRead>> {
    const out = new Map<string, RecordRead>();
    const need: [string, string][] = [];
    for (const [ref, oid] of wanted) {
      const seen = ctx.store.get(ref);
      if (seen?.oid === oid && seen.record) {
        out.set(ref, seen.record);
        this.refResources.set(ref, seen.record.resource);
      } else if (this.invalidOids.has(oid)) out.set(ref, 'invalid');
      else need.push([ref, oid]);
    }
    if (need.length === 0) return out;
    const oids = [...new Set(need.map(([, oid]) => oid))];
    const bodies = await this.catFile(oids);
    const absent = oids.filter((oid) => !bodies.has(oid));
    if (absent.length > 0) {
      await this.fetchObjects(absent);
      for (const [oid, body] of await this.catFile(absent)) bodies.set(oid, body);
    }
    for (const [ref, oid] of need) {
      const body = bodies.get(oid);
      if (body === undefined) {
        out.set(ref, 'missing');
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(commitMessage(body));
      } catch {
        parsed = undefined;
      }
      const record = toStoredRecord(parsed, ref);
      if (!record) {
        this.invalidOids.add(oid);
        out.set(ref, 'invalid');
        continue;
      }
      this.refResources.set(ref, record.resource);
      ctx.store.setRecord(ref, oid, record);
      out.set(ref, record);
    }
    return out;
  }

  private async catFile(oids: string[]): Promise<Map<string, string>> {
    const res = await this.git(['cat-file', '--batch'], { input: oids.join('\n') + '\n', binary: true });
    return parseCatFileBatch(res.stdoutBytes ?? Buffer.alloc(0));
  }

  /** Fetches lease objects by oid (no refs are written). An oid the remote no longer has stays missing. */
  private async fetchObjects(oids: string[]): Promise<void> {
    const fetch = (list: string[]) =>
      this.git(['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', this.remote, ...list], {
        okCodes: [0, 1, 128],
      });
    const gone = (stderr: string) => /not our ref|unadvertised object|couldn't find remote ref|no such remote ref/i.test(stderr);
    const res = await fetch(oids);
    if (res.code === 0) return;
    if (!gone(res.stderr)) throw gitCommandError('git fetch', `exit code ${res.code}`, res.stderr, this.options.cwd);
    // One of them is gone (its ref moved on): fetch the others one by one.
    if (oids.length === 1) return;
    for (const oid of oids) {
      const one = await fetch([oid]);
      if (one.code !== 0 && !gone(one.stderr)) throw gitCommandError('git fetch', `exit code ${one.code}`, one.stderr, this.options.cwd);
    }
  }

  /** Writes `record` as a new commit and pushes it to `ref` if the ref is still `expect`. Returns the new oid, or undefined when the race was lost. */
  async pushRecord(ctx: Ctx, ref: string, record: StoredLeaseRecord, expect: string | null): Promise<string | undefined> {
    const seconds = Math.floor(Date.now() / 1000);
    const date = `@${seconds} +0000`;
    const made = await this.git(['commit-tree', EMPTY_TREE, '-m', JSON.stringify(record)], {
      env: { ...this.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    });
    const oid = made.stdout.trim();
    if (!OID.test(oid)) throw gitCommandError('git commit-tree', `unexpected output '${oid.slice(0, 80)}'`, made.stderr, this.options.cwd);
    const result = await this.push(ctx, [{ ref, oid, expect }]);
    if (!result.get(ref)) return undefined;
    ctx.store.setRecord(ref, oid, record);
    return oid;
  }

  /** Deletes `ref` if it is still at `oid`. false: it moved on (a lost race). */
  async deleteRef(ctx: Ctx, ref: string, oid: string): Promise<boolean> {
    return (await this.push(ctx, [{ ref, oid: null, expect: oid }])).get(ref) === true;
  }

  /**
   * One `git push` of compare-and-swap updates. true per ref: done; false:
   * the ref was not at `expect` (a lost race). Anything else is EGIT.
   */
  async push(ctx: Ctx, updates: RefUpdate[]): Promise<Map<string, boolean>> {
    const before = monotonicNs();
    const args = [
      'push',
      '--porcelain',
      '--no-verify', // no pre-push hooks (a repository's test runs) for a lease
      '--no-signed',
      '--no-follow-tags',
      '--no-recurse-submodules',
      ...updates.map((u) => `--force-with-lease=${u.ref}:${u.expect ?? ''}`),
      this.remote,
      ...updates.map((u) => `${u.oid ?? ''}:${u.ref}`),
    ];
    const res = await this.git(args, { okCodes: [0, 1] });
    const lines = new Map<string, { flag: string; summary: string }>();
    for (const line of res.stdout.split('\n')) {
      const m = /^(.)\t[^\t]*:([^\t]+)\t(.*)$/.exec(line);
      if (m) lines.set(m[2], { flag: m[1], summary: m[3] });
    }
    const result = new Map<string, boolean>();
    const unclear: { update: RefUpdate; summary: string }[] = [];
    for (const u of updates) {
      const line = lines.get(u.ref);
      if (!line) throw gitCommandError('git push', `exit code ${res.code}`, res.stderr, this.options.cwd);
      if (line.flag !== '!') result.set(u.ref, true);
      else if (LOST_RACE.test(line.summary)) result.set(u.ref, false);
      else unclear.push({ update: u, summary: line.summary });
    }
    if (unclear.length > 0) {
      // Refused for another reason (a hook, permissions, a deny* setting). If the ref is no longer
      // what we expected, we lost a race anyway; if it still is, the remote refuses us.
      const now = await this.lsRemote(
        ctx,
        unclear.map((u) => u.update.ref),
      );
      for (const { update, summary } of unclear) {
        if ((now.get(update.ref) ?? null) !== update.expect) result.set(update.ref, false);
        else throw gitCommandError('git push', summary, `${res.stderr}\n${summary}`, this.options.cwd);
      }
    }
    for (const u of updates) {
      if (!result.get(u.ref)) continue;
      if (u.oid) {
        // Our own write counts from before the push began: no observer can have seen it earlier.
        ctx.store.observe(u.ref, u.oid, before);
      } else {
        ctx.store.forget(u.ref);
      }
    }
    return result;
  }
}
