import { mapLimit } from '../util/map-limit';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { writeFileDurable } from '../atomic/write-durable';
import { endedBadly, endedWell, isFinal, isPackageStatus } from '../publish/status';
import { redactUrls } from '../util/display';
import { journalCorruptError, journalMisuseError, journalOptionsError, journalRunReplacedError, journalShaMismatchError, journalVersionConflictError } from './errors';
import {
  fsyncDir,
  packagesPath,
  readAllRecords,
  readRecordFile,
  readRunFile,
  recordPath,
  runPath,
  sweepJournalTemps,
  withJournalLock,
} from './journal-files';
import {
  JOURNAL_SCHEMA,
  PackageRecord,
  RecordError,
  RecordStatus,
  RunPackage,
  RunRecord,
  RunStatus,
  serializeRecord,
} from './records';

export interface OpenJournalOptions {
  /** One run is one Nx invocation: every task process of it passes the same runId. */
  runId: string;
  /** The git commit being published. */
  sha: string;
  target: string;
  /** Stored without credentials, query or fragment. */
  registry: string;
  /** The packages of the run, each once. */
  packages: readonly RunPackage[];
  /** 'auto': resume an unfinished run of the same commit; 'fresh': start a new run whatever is there. */
  resume: 'auto' | 'fresh';
  /** Writes a file atomically and durably. Default writeFileDurable; injectable to count or fail writes. */
  writeFile?: (file: string, data: string) => Promise<void>;
  /** Default () => new Date(). */
  now?: () => Date;
  /** How long to wait for another process setting up the same journal. Default 2 min. */
  lockTimeoutMs?: number;
  /**
   * Runs under the set-up lock in the one process that creates or resumes the
   * run, never in a process that joins it, and before any file of the journal
   * is written, replaced or reset. If it throws, openJournal rejects with its
   * error and the journal is left as it was (an unfinished run stays
   * resumable). The publish executor validates the whole run here (G6): a
   * task that joins the run finds it only after the validation passed.
   * The lock is held for as long as it runs: size lockTimeoutMs for it.
   */
  beforeSetUp?: () => Promise<void>;
  /**
   * Joining this runId's run: trust run.json's package list instead of
   * reading every record. A set-up writes every record before the run.json
   * that lists it, so when run.json lists each of this process's packages at
   * its version, their records are there. Per task, every task joins: reading
   * all N records in each is O(N²) over the run. A corrupt record is then
   * found when it is read (get, all, transition), not by the join. A package
   * run.json does not list at that version takes the full check.
   */
  lazyJoin?: boolean;
}

export interface OpenJournalResult {
  journal: Journal;
  /**
   * 'created': a new run (nothing there, a finished run replaced, or fresh);
   * 'resumed': took over the unfinished run of the same commit;
   * 'joined': this runId's run already existed (another task process of the same invocation opened it).
   */
  mode: 'created' | 'resumed' | 'joined';
  resumed: boolean;
  /** The run found in the journal and replaced or resumed. */
  previous?: { runId: string; sha: string; status: RunStatus };
}

export interface TransitionPatch {
  level?: number;
  integrity?: string;
  /**
   * Must already be redacted by the caller (no tokens, passwords, OTPs,
   * credentials in URLs): the journal stores code and message as given, and
   * nothing else of the error.
   */
  error?: RecordError;
  skippedReason?: string;
  /** The registry's stage id (staging → staged); kept by later transitions. */
  stageId?: string;
}

export interface Journal {
  readonly dir: string;
  /** run.json as this process opened it. */
  readonly run: RunRecord;
  /** The packages this handle was opened with, in that order. */
  readonly packages: readonly RunPackage[];
  /** The package's record as on disk now (other processes of the run write theirs), or undefined if it is not in the run. */
  get(name: string): PackageRecord | undefined;
  /** The records of this handle's packages, in order, as on disk now. */
  all(): PackageRecord[];
  /**
   * Moves a package to `status`, writing only that package's file (atomically,
   * durably). Sets updatedAt, counts an attempt on each entry into
   * 'publishing', sets startedAt when the package first leaves 'pending' (or
   * is first moved by this run, for a record a resume kept from an earlier run),
   * keeps error only with failed/blocked and skippedReason only with skipped
   * unless the patch gives them, and stamps the record with this run's id. Refuses (EINTERNAL) an unknown package or
   * status, and entering publishing, verifying or published from a state that
   * cannot precede it. A package is transitioned by one process at a time.
   */
  transition(name: string, status: RecordStatus, patch?: TransitionPatch): Promise<PackageRecord>;
  /** Marks the run finished in run.json. */
  finish(status: 'done' | 'failed'): Promise<RunRecord>;
  /** True when every package of this handle is published, skipped, failed or blocked (read from disk). */
  isComplete(): boolean;
}

const MAX_ERROR_MESSAGE = 4_000;
/** Durable writes in flight when a run's records are created: each is an fsync, which overlap well. */
const RECORD_WRITE_CONCURRENCY = 16;

/** Which states may precede the ones G1 depends on; every other state may be entered from anywhere. */
const ENTERED_FROM: Partial<Record<RecordStatus, readonly RecordStatus[]>> = {
  publishing: ['packing', 'publishing'],
  verifying: ['publishing', 'verifying'],
  // 'staged': a staged version goes live by approval (lockstep release approve), never by an upload.
  published: ['publishing', 'verifying', 'published', 'staged'],
  // From staged: a resumed staged run stages again a version whose content changed.
  staging: ['packing', 'staging', 'staged'],
  staged: ['staging', 'staged'],
};


/**
 * Opens the run journal in `dir`:
 *   - run.json of this runId          → join it (another task process of the invocation made it);
 *   - nothing, or a finished run      → a new run (a finished run is history: its files are replaced);
 *   - an unfinished run, same commit  → resume: published/skipped records kept, the rest back to
 *                                       pending (attempts kept);
 *   - an unfinished run, other commit → ESTATESHAMISMATCH (resume: 'auto'), a new run ('fresh').
 * Packages missing from the journal get pending records; records of packages not
 * in the list are left on disk but not part of this handle.
 *
 * Joining is lock-free when every record is there. Everything that creates or
 * replaces files runs under a lock in `<dir>/.lock` (dead holders reclaimed at
 * once), so the task processes of one invocation opening together create, replace
 * or resume the run exactly once, and a process killed mid-set-up leaves a state
 * the next open repairs. Leaked temp files are swept when a run is created or
 * resumed: no writer of the journal can be alive then (a join leaves them, since
 * its siblings may be mid-write); they are ignored when reading.
 *
 * A corrupt file (not JSON, wrong schema, torn) is EJOURNALCORRUPT naming it,
 * never a silent reset; with resume: 'fresh' a corrupt run is replaced. The
 * records of a finished run are replaced unread: nothing resumes from them.
 */
export async function openJournal(dir: string, options: OpenJournalOptions): Promise<OpenJournalResult> {
  checkOptions(options);
  const root = path.resolve(dir);
  // Only the root here: packages/ is made under the lock, since a set-up may be replacing it right now.
  await fsp.mkdir(root, { recursive: true });
  const ctx: Ctx = {
    root,
    options,
    write: options.writeFile ?? writeFileDurable,
    now: () => (options.now ?? (() => new Date()))().toISOString(),
  };

  const joined = tryJoin(ctx);
  if (joined) return { journal: new JournalHandle(ctx, joined), mode: 'joined', resumed: false };

  return withJournalLock(root, 'lockstep: open publish journal', options.lockTimeoutMs, () => setUp(ctx));
}

interface Ctx {
  root: string;
  options: OpenJournalOptions;
  write: (file: string, data: string) => Promise<void>;
  now: () => string;
}

function checkOptions(options: OpenJournalOptions): void {
  const bad = journalOptionsError;
  for (const field of ['runId', 'sha', 'target'] as const) {
    if (typeof options[field] !== 'string' || options[field] === '') throw bad(`"${field}" must be a non-empty string`);
  }
  if (typeof options.registry !== 'string') throw bad('"registry" must be a string');
  if (options.resume !== 'auto' && options.resume !== 'fresh') throw bad(`"resume" must be "auto" or "fresh", not ${JSON.stringify(options.resume)}`);
  if (!Array.isArray(options.packages)) throw bad('"packages" must be an array');
  const seen = new Set<string>();
  for (const p of options.packages) {
    if (typeof p?.name !== 'string' || p.name === '' || typeof p.version !== 'string' || p.version === '') throw bad(`every package needs a name and a version (got ${JSON.stringify(p)})`);
    if (seen.has(p.name)) throw bad(`"${p.name}" is listed twice`);
    seen.add(p.name);
  }
}

/** The lock-free path: this runId's run.json is there and so is every record, each of the listed version. */
function tryJoin(ctx: Ctx): RunRecord | undefined {
  let run: RunRecord | undefined;
  try {
    run = readRunFile(ctx.root);
  } catch (error) {
    if (ctx.options.resume === 'fresh') return undefined;
    throw error;
  }
  if (run?.runId !== ctx.options.runId) return undefined;
  if (ctx.options.lazyJoin) {
    const listed = new Map(run.packages.map((p) => [p.name, p.version]));
    if (ctx.options.packages.every((p) => listed.get(p.name) === p.version)) return run;
  }
  const records = readAllRecords(ctx.root);
  for (const p of ctx.options.packages) {
    const record = records.get(p.name);
    if (!record) return undefined;
    if (record.version !== p.version) throw journalVersionConflictError(ctx.options.runId, record, p);
  }
  return run;
}

async function setUp(ctx: Ctx): Promise<OpenJournalResult> {
  const { options, root } = ctx;
  let current: RunRecord | undefined;
  try {
    current = readRunFile(root);
  } catch (error) {
    if (options.resume !== 'fresh') throw error;
    current = undefined;
  }
  const previous = current && { runId: current.runId, sha: current.sha, status: current.status };

  if (current?.runId === options.runId) {
    await fsp.mkdir(packagesPath(root), { recursive: true });
    const records = readAllRecords(root);
    for (const p of options.packages) {
      const record = records.get(p.name);
      if (!record) await writeRecord(ctx, pendingRecord(ctx, p));
      else if (record.version !== p.version) throw journalVersionConflictError(ctx.options.runId, record, p);
    }
    return { journal: new JournalHandle(ctx, current), mode: 'joined', resumed: false };
  }

  const resuming = current !== undefined && current.status === 'running' && options.resume === 'auto';
  if (resuming && current!.sha !== options.sha) throw journalShaMismatchError({ dir: ctx.root, run: current!, sha: options.sha });
  await options.beforeSetUp?.();
  await fsp.mkdir(packagesPath(root), { recursive: true });

  if (resuming && current) {
    sweepJournalTemps(root);
    const records = readAllRecords(root);
    await mapLimit(options.packages, RECORD_WRITE_CONCURRENCY, async (p) => {
      const record = records.get(p.name);
      if (!record || record.version !== p.version) await writeRecord(ctx, pendingRecord(ctx, p));
      // A resume keeps the records that ended well (the caller re-confirms them on the registry) and resets the rest.
      else if (!endedWell(record.status) && record.status !== 'pending') await writeRecord(ctx, resetRecord(ctx, record));
    });
    fsyncDir(packagesPath(root));
    const run = await writeRun(ctx, current.runId);
    return { journal: new JournalHandle(ctx, run), mode: 'resumed', resumed: true, previous };
  }

  // A new run. run.json goes first, so a crash part-way leaves no run (the next open starts
  // over) rather than a finished run beside half its records.
  await fsp.rm(runPath(root), { force: true });
  fsyncDir(root);
  await fsp.rm(packagesPath(root), { recursive: true, force: true });
  await fsp.mkdir(packagesPath(root), { recursive: true });
  sweepJournalTemps(root);
  await mapLimit(options.packages, RECORD_WRITE_CONCURRENCY, (p) => writeRecord(ctx, pendingRecord(ctx, p)));
  fsyncDir(packagesPath(root));
  const run = await writeRun(ctx);
  return { journal: new JournalHandle(ctx, run), mode: 'created', resumed: false, previous };
}

async function writeRun(ctx: Ctx, resumedFrom?: string): Promise<RunRecord> {
  const now = ctx.now();
  const { runId, sha, target, registry, packages } = ctx.options;
  const run: RunRecord = {
    schema: JOURNAL_SCHEMA,
    runId,
    sha,
    target,
    registry: withoutCredentials(registry),
    startedAt: now,
    updatedAt: now,
    status: 'running',
    packages: packages.map((p) => ({ name: p.name, version: p.version })),
    ...(resumedFrom ? { resumedFrom } : {}),
  };
  await ctx.write(runPath(ctx.root), serializeRecord(run));
  fsyncDir(ctx.root);
  return run;
}

function writeRecord(ctx: Ctx, record: PackageRecord): Promise<void> {
  return ctx.write(recordPath(ctx.root, record.name), serializeRecord(record));
}

function pendingRecord(ctx: Ctx, p: RunPackage): PackageRecord {
  return { schema: JOURNAL_SCHEMA, name: p.name, version: p.version, status: 'pending', attempts: 0, updatedAt: ctx.now() };
}

function resetRecord(ctx: Ctx, record: PackageRecord): PackageRecord {
  const { error: _error, skippedReason: _skipped, startedAt: _started, runId: _runId, ...kept } = record;
  return { ...kept, status: 'pending', updatedAt: ctx.now() };
}

/** Registry URLs may carry credentials; the journal keeps scheme, host and path only (`***@` where the URL cannot be parsed). */
function withoutCredentials(registry: string): string {
  try {
    const url = new URL(registry);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return redactUrls(registry).replace(/[?#].*$/, '');
  }
}

class JournalHandle implements Journal {
  readonly dir: string;
  readonly packages: readonly RunPackage[];
  private readonly listed: Set<string>;
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ctx: Ctx,
    readonly run: RunRecord,
  ) {
    this.dir = ctx.root;
    this.packages = ctx.options.packages.map((p) => ({ name: p.name, version: p.version }));
    this.listed = new Set(this.packages.map((p) => p.name));
  }

  get(name: string): PackageRecord | undefined {
    return this.listed.has(name) ? readRecordFile(this.dir, name) : undefined;
  }

  all(): PackageRecord[] {
    return this.packages.map((p) => this.mustRead(p.name));
  }

  isComplete(): boolean {
    // Last listed first, and no further than the first open record: per task, every task asks once, and
    // most of them find an open package of a later level after a read or two instead of reading the run.
    for (let i = this.packages.length - 1; i >= 0; i--) if (!isFinal(this.mustRead(this.packages[i].name).status)) return false;
    return true;
  }

  transition(name: string, status: RecordStatus, patch: TransitionPatch = {}): Promise<PackageRecord> {
    if (!this.listed.has(name)) return Promise.reject(journalMisuseError(`transition(${JSON.stringify(name)}): not a package of run ${this.run.runId}.`));
    if (!isPackageStatus(status)) return Promise.reject(journalMisuseError(`transition(${JSON.stringify(name)}, ${JSON.stringify(status)}): not a package status.`));
    // One transition of a package at a time in this process, each reading what the last one wrote.
    const next = (this.chains.get(name) ?? Promise.resolve()).catch(() => undefined).then(() => this.apply(name, status, patch));
    this.chains.set(name, next);
    return next;
  }

  async finish(status: 'done' | 'failed'): Promise<RunRecord> {
    if (status !== 'done' && status !== 'failed') throw journalMisuseError(`finish(${JSON.stringify(status)}): a run finishes 'done' or 'failed'.`);
    const current = readRunFile(this.dir);
    if (current?.runId !== this.run.runId) {
      throw journalRunReplacedError(this.dir, this.run.runId, current);
    }
    const run: RunRecord = { ...current, status, updatedAt: this.ctx.now() };
    await this.ctx.write(runPath(this.dir), serializeRecord(run));
    return run;
  }

  private mustRead(name: string): PackageRecord {
    const record = readRecordFile(this.dir, name);
    if (!record) throw journalCorruptError(recordPath(this.dir, name), 'it is missing although the run lists the package');
    return record;
  }

  private async apply(name: string, status: RecordStatus, patch: TransitionPatch): Promise<PackageRecord> {
    const current = this.mustRead(name);
    const allowed = ENTERED_FROM[status];
    if (allowed && !allowed.includes(current.status)) throw journalMisuseError(`${name}: cannot go from '${current.status}' to '${status}'.`);
    const now = this.ctx.now();
    const error = patch.error ?? (endedBadly(status) ? current.error : undefined);
    const skippedReason = patch.skippedReason ?? (status === 'skipped' ? current.skippedReason : undefined);
    const level = patch.level ?? current.level;
    const integrity = patch.integrity ?? current.integrity;
    const stageId = patch.stageId ?? current.stageId;
    // A record kept from an earlier run (a resume keeps published and skipped ones) starts anew
    // when this run moves it, so its time is this run's, not counted from the interrupted run.
    const carried = current.startedAt !== undefined && Date.parse(current.updatedAt) < Date.parse(this.run.startedAt);
    const startedAt = status === 'pending' ? undefined : carried ? now : (current.startedAt ?? now);
    const next: PackageRecord = {
      schema: JOURNAL_SCHEMA,
      name,
      version: current.version,
      status,
      ...(level !== undefined ? { level } : {}),
      ...(integrity !== undefined ? { integrity } : {}),
      ...(stageId !== undefined ? { stageId } : {}),
      attempts: current.attempts + (status === 'publishing' ? 1 : 0),
      ...(error ? { error: { code: String(error.code), message: String(error.message).slice(0, MAX_ERROR_MESSAGE) } } : {}),
      ...(skippedReason !== undefined ? { skippedReason } : {}),
      ...(startedAt !== undefined ? { startedAt } : {}),
      updatedAt: now,
      runId: this.run.runId,
    };
    await this.ctx.write(recordPath(this.dir, name), serializeRecord(next));
    return next;
  }
}
