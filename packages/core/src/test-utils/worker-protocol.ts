/**
 * The messages between race specs and their `__fixtures__` workers, typed in
 * one place. A spec names the protocol when it forks a worker
 * (`new Worker<LockWorker>(WORKER)`) and then can only send that worker's
 * requests and reads its replies with their real shape. The workers are
 * plain JS on `dist` (see fresh-dist.ts); each names its protocol here in a
 * JSDoc `@typedef` so the two sides are read together.
 *
 * Every IPC worker first sends `{ ready: true }`, then answers one request
 * at a time. Replies carry `ok`; one that failed (`ok: false`) carries the
 * thrown error's code and message (`WorkerOutcome`), and the fields of a
 * success are then absent, hence optional below.
 */

/** The first message of every IPC worker. */
export interface ReadyMessage {
  ready: true;
}

export function isReadyMessage(msg: unknown): msg is ReadyMessage {
  return typeof msg === 'object' && msg !== null && (msg as { ready?: unknown }).ready === true;
}

/** Whether a request went well; if not, the thrown error's code and message. */
export interface WorkerOutcome {
  ok: boolean;
  code?: string;
  message?: string;
}

/** A worker's protocol: what it takes, what it answers. */
export interface WorkerProtocol<Request extends object = object, Reply = unknown> {
  request: Request;
  reply: Reply;
}

/** For a worker without a protocol here yet: any request, any reply. */
export type UntypedWorker = WorkerProtocol<object, any>;

/** Makes a worker exit at once (the workers that know it). */
export interface ExitRequest {
  op: 'exit';
}

// ------------------------------------------------- lock/__fixtures__/lock-worker.js

export interface LockAcquireRequest {
  op: 'acquire';
  id: number;
  key: string;
  lockDir: string;
  /** O_EXCL marker `inside` proves exclusivity; with `order`, ids are appended to `order`. */
  markerDir: string;
  staleMs?: number;
  timeoutMs?: number;
  holdMs?: number;
  /** Hold until this file exists. */
  releaseFile?: string;
  order?: boolean;
}

export interface LockAcquireReply extends WorkerOutcome {
  id: number;
  /** The O_EXCL marker was there already: another process was inside. */
  violation?: boolean;
  waitedMs?: number;
  released?: boolean;
  compromised?: boolean;
  /** Why the hold's signal aborted, if it did. */
  reason?: string;
}

export type LockWorker = WorkerProtocol<LockAcquireRequest | ExitRequest, LockAcquireReply>;

// ------------------------------------------ journal/__fixtures__/journal-worker.js

interface JournalRunRequest {
  dir: string;
  sha: string;
  packages: Array<{ name: string; version: string }>;
}

export type JournalWorkerRequest =
  | (JournalRunRequest & { op: 'publish'; runId: string; own: string; resume?: 'auto' | 'fresh'; steps?: number })
  | (JournalRunRequest & { op: 'finish'; runId: string; status: 'done' | 'failed' })
  /** Never answers: churns runs until SIGKILLed. */
  | (JournalRunRequest & { op: 'churn' });

export interface JournalWorkerReply extends WorkerOutcome {
  /** publish: how the journal was opened, what it replaced or resumed, the own record after the steps. */
  mode?: 'created' | 'resumed' | 'joined';
  resumed?: boolean;
  previous?: { runId: string; sha: string; status: string };
  record?: { name: string; status: string; attempts: number };
  /** finish: run.json as written. */
  run?: { runId: string; status: string };
}

export type JournalWorker = WorkerProtocol<JournalWorkerRequest, JournalWorkerReply>;

// ---------------------------------------- generate/__fixtures__/generate-worker.js

export interface GenerateRequest {
  op: 'generate';
  /** The content's generation: every file of one generation says it. */
  generation: string;
  outDir: string;
  lockDir: string;
  scale?: number;
  workspaceRoot?: string;
  lockTimeoutMs?: number;
}

export interface GenerateReply extends WorkerOutcome {
  stats?: Record<string, number>;
  waitedMs?: number;
}

export type GenerateWorker = WorkerProtocol<GenerateRequest, GenerateReply>;

// ----------------------------------------------- generate/__fixtures__/reader.js

export interface ReaderCounts {
  reads: number;
  torn: number;
  empty: number;
  missing: number;
  samples: string[];
}

export type ReaderWorker = WorkerProtocol<{ op: 'report' } | { op: 'stop' }, ReaderCounts>;

// ----------------------------------------- lease/__fixtures__/local-lease-worker.js

export type LocalLeaseRequest =
  | { op: 'acquire'; lockDir: string; resource: string; owner: string; markerDir: string; ttlMs?: number; waitMs?: number; pollMs?: number; holdMs?: number }
  | { op: 'try'; lockDir: string; resource: string; owner: string; markerDir: string; ttlMs?: number }
  | { op: 'release' }
  | ExitRequest;

export interface LocalLeaseReply extends WorkerOutcome {
  violation?: boolean;
  released?: boolean;
  /** The owner of the expired lease this worker took over. */
  tookOver?: string;
}

export type LocalLeaseWorker = WorkerProtocol<LocalLeaseRequest, LocalLeaseReply>;

// ------------------------------------------- lease/__fixtures__/git-lease-worker.js

export type GitLeaseRequest =
  | { op: 'acquire'; id: number; resource: string; owner: string; ttlMs: number; waitMs: number; pollMs: number; holdMs: number; markerDir: string }
  | { op: 'takeover'; id: number; resource: string; owner: string; deadOwner: string; ttlMs: number; marginMs: number; pollMs: number; waitMs: number };

export interface GitLeaseReply extends WorkerOutcome {
  id: number;
  /** acquire */
  violation?: boolean;
  released?: boolean;
  waitedMs?: number;
  renewed?: boolean;
  /** takeover: this worker took the lease (from `tookOver`), or saw `holder` take it. */
  won?: boolean;
  tookOver?: string;
  holder?: string;
  tries?: number;
}

export type GitLeaseWorker = WorkerProtocol<GitLeaseRequest, GitLeaseReply>;

// ------------------------------ lock/__fixtures__/lockdir-attacker.js and -victim.js

export type LockDirAttackerRequest =
  | { op: 'repoint'; link: string; targets: string[] }
  | { op: 'count' }
  | { op: 'stop' }
  | { op: 'swap'; dir: string; movedTo: string; replacement: 'symlink' | 'dir'; target?: string }
  | ExitRequest;

export interface LockDirAttackerReply {
  /** repoint */
  started?: true;
  /** count, stop: swaps made since repoint */
  swaps?: number;
  /** swap */
  done?: true;
}

export type LockDirAttacker = WorkerProtocol<LockDirAttackerRequest, LockDirAttackerReply>;

export interface LockDirRoundsRequest {
  op: 'rounds';
  rounds: number;
  kind: 'lock' | 'lease';
  key?: string;
  holdMs?: number;
  /** Written with the number of rounds done after each one. */
  progressFile?: string;
  /** Stop after this many ELOCKDIRUNSAFE refusals in a row. */
  stopAfterRefusals?: number;
}

/** One outcome per round: 'ok' or the error code. */
export type LockDirVictim = WorkerProtocol<LockDirRoundsRequest | ExitRequest, { outcomes: string[] }>;

// -------------------------------- group/__fixtures__/group-member.js (stdout lines)

/** One line of group-member's stdout: a JSON event with its pid and time, and the event's own fields. */
export interface GroupMemberEvent {
  pid: number;
  t: number;
  event: string;
  [field: string]: any;
}
