import { isPackageStatus, type PackageStatus as RecordStatus } from '../publish/status';
import { journalCorruptError } from './errors';

export const JOURNAL_SCHEMA = 1;

export type RunStatus = 'running' | 'done' | 'failed';

/** A record's status is a package's status in the run (publish/status.ts has the list and what each means). */
export { PACKAGE_STATUSES as RECORD_STATUSES, FINAL_STATUSES } from '../publish/status';
export type { PackageStatus as RecordStatus } from '../publish/status';

export interface RunPackage {
  name: string;
  version: string;
}

/** `run.json`: one publish run of one target. */
export interface RunRecord {
  schema: 1;
  runId: string;
  /** The git commit the run publishes. */
  sha: string;
  target: string;
  /** Registry URL, without credentials, query or fragment. */
  registry: string;
  startedAt: string;
  updatedAt: string;
  status: RunStatus;
  packages: RunPackage[];
  /** The unfinished run of the same commit this run took over. */
  resumedFrom?: string;
}

/** Stored with a failed or blocked record. Already redacted by the caller: the journal stores it as given. */
export interface RecordError {
  code: string;
  message: string;
}

/** `packages/<file>.json`: one package of the run. */
export interface PackageRecord {
  schema: 1;
  name: string;
  version: string;
  status: RecordStatus;
  /** Level in the dependency graph (0: no in-run dependencies). */
  level?: number;
  /** sha512 SRI of the packed tarball. */
  integrity?: string;
  /** The registry's stage id (a staged run): kept when approval moves the record to published. */
  stageId?: string;
  /** Upload attempts: one more each time the record enters 'publishing'. */
  attempts: number;
  error?: RecordError;
  skippedReason?: string;
  /** When the package left 'pending'. */
  startedAt?: string;
  updatedAt: string;
  /**
   * The run that last moved the record (transition). A resume keeps the
   * records that ended well with the id of the run that moved them, so a
   * record of this run's id was settled by this run: a dependent task trusts
   * its published/skipped without asking the registry again (publishPackages).
   * Absent on pending records and on journals written before it existed.
   */
  runId?: string;
}

function parseObject(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw journalCorruptError(file, text.trim() === '' ? 'it is empty' : `it is not valid JSON (${(error as Error).message})`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw journalCorruptError(file, 'it does not hold a JSON object');
  const record = value as Record<string, unknown>;
  if (record.schema !== JOURNAL_SCHEMA) throw journalCorruptError(file, `its schema is ${JSON.stringify(record.schema)}, not ${JOURNAL_SCHEMA}`);
  return record;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function check(file: string, ok: boolean, field: string, value: unknown): void {
  if (!ok) throw journalCorruptError(file, `"${field}" is ${value === undefined ? 'missing' : `invalid (${JSON.stringify(value)})`}`);
}

export function parseRunRecord(text: string, file: string): RunRecord {
  const v = parseObject(text, file);
  for (const field of ['runId', 'sha', 'target', 'startedAt', 'updatedAt'] as const) check(file, isNonEmpty(v[field]), field, v[field]);
  check(file, isString(v.registry), 'registry', v.registry);
  check(file, v.status === 'running' || v.status === 'done' || v.status === 'failed', 'status', v.status);
  check(
    file,
    Array.isArray(v.packages) && v.packages.every((p) => typeof p === 'object' && p !== null && isNonEmpty(p.name) && isNonEmpty(p.version)),
    'packages',
    v.packages,
  );
  check(file, v.resumedFrom === undefined || isNonEmpty(v.resumedFrom), 'resumedFrom', v.resumedFrom);
  return v as unknown as RunRecord;
}

export function parsePackageRecord(text: string, file: string, expectedName?: string): PackageRecord {
  const v = parseObject(text, file);
  check(file, isNonEmpty(v.name), 'name', v.name);
  if (expectedName !== undefined && v.name !== expectedName) throw journalCorruptError(file, `it holds the record of "${String(v.name)}", not of "${expectedName}"`);
  check(file, isNonEmpty(v.version), 'version', v.version);
  check(file, isPackageStatus(v.status), 'status', v.status);
  check(file, isCount(v.attempts), 'attempts', v.attempts);
  check(file, isNonEmpty(v.updatedAt), 'updatedAt', v.updatedAt);
  check(file, v.level === undefined || isCount(v.level), 'level', v.level);
  check(file, v.integrity === undefined || isNonEmpty(v.integrity), 'integrity', v.integrity);
  check(file, v.stageId === undefined || isNonEmpty(v.stageId), 'stageId', v.stageId);
  check(file, v.skippedReason === undefined || isString(v.skippedReason), 'skippedReason', v.skippedReason);
  check(file, v.startedAt === undefined || isNonEmpty(v.startedAt), 'startedAt', v.startedAt);
  check(file, v.runId === undefined || isNonEmpty(v.runId), 'runId', v.runId);
  const error = v.error as Record<string, unknown> | undefined;
  check(file, error === undefined || (typeof error === 'object' && error !== null && isString(error.code) && isString(error.message)), 'error', error);
  return v as unknown as PackageRecord;
}

/** The on-disk form: pretty, so `cat` and `lockstep state show` read the same thing. */
export function serializeRecord(record: RunRecord | PackageRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}
