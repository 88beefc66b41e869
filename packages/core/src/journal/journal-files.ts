import { closeSync, fsyncSync, openSync, readFileSync, rmSync } from 'fs';
import * as path from 'path';
import { isDurableTempFor } from '../atomic/write-durable';
import { isTempFileName } from '../atomic/temp-name';
import { errnoCode } from '../errors';
import { withLock } from '../lock/lock';
import { readdirOrEmpty } from '../util/fs';
import { journalCorruptError } from './errors';
import { PackageRecord, RunRecord, parsePackageRecord, parseRunRecord } from './records';

/**
 * The journal's layout under the directory the caller chose
 * (`<nx cacheDir>/lockstep/publish/<target>`):
 *   run.json                the run
 *   packages/<file>.json    one record per package (recordFileName)
 *   .lock/                  the lock that serialises openJournal's set-up
 */
export const RUN_FILE = 'run.json';
export const PACKAGES_DIR = 'packages';
export const LOCK_DIR = '.lock';

export const runPath = (dir: string) => path.join(dir, RUN_FILE);
export const packagesPath = (dir: string) => path.join(dir, PACKAGES_DIR);
export const recordPath = (dir: string, name: string) => path.join(dir, PACKAGES_DIR, recordFileName(name));

/**
 * A file name for a package name, injective and safe on every filesystem:
 * `[a-z0-9._~-@]` stay, `/` becomes `+` (`@scope/x` → `@scope+x.json`),
 * everything else (upper case included, for case-insensitive filesystems)
 * is %XX-encoded, and so is a leading dot.
 */
export function recordFileName(name: string): string {
  let out = '';
  for (const char of name) {
    if (/[a-z0-9._~@-]/.test(char) && !(out === '' && char === '.')) out += char;
    else if (char === '/') out += '+';
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${out}.json`;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    if (errnoCode(error) === 'EISDIR') throw journalCorruptError(file, 'it is a directory');
    throw error;
  }
}

export function readRunFile(dir: string): RunRecord | undefined {
  const file = runPath(dir);
  const text = readText(file);
  return text === undefined ? undefined : parseRunRecord(text, file);
}

export function readRecordFile(dir: string, name: string): PackageRecord | undefined {
  const file = recordPath(dir, name);
  const text = readText(file);
  return text === undefined ? undefined : parsePackageRecord(text, file, name);
}

/** Every record in packages/, by name, each checked (and checked to sit in its own file). */
export function readAllRecords(dir: string): Map<string, PackageRecord> {
  const records = new Map<string, PackageRecord>();
  for (const entry of readdirOrEmpty(packagesPath(dir)).sort()) {
    if (!entry.endsWith('.json')) continue;
    const file = path.join(packagesPath(dir), entry);
    const text = readText(file);
    if (text === undefined) continue;
    const record = parsePackageRecord(text, file);
    if (recordFileName(record.name) !== entry) throw journalCorruptError(file, `it holds the record of "${record.name}", whose file is ${recordFileName(record.name)}`);
    records.set(record.name, record);
  }
  return records;
}

/**
 * A temp file write-file-atomic (or a temp-sibling writer) leaked when its
 * process was killed. write-file-atomic 7 names them `<file>.<murmur3 as a
 * decimal uint32>` (up to 10 digits).
 */
export function isJournalTemp(entry: string): boolean {
  if (isTempFileName(entry)) return true;
  const match = /^(.+\.json)\.([^.]+)$/.exec(entry);
  if (!match) return false;
  return isDurableTempFor(match[1], entry);
}

/** Removes leaked temp files from the journal. Only while no writer of this journal can be alive (see openJournal). */
export function sweepJournalTemps(dir: string): number {
  let removed = 0;
  for (const folder of [dir, packagesPath(dir)]) {
    for (const entry of readdirOrEmpty(folder)) {
      if (!isJournalTemp(entry)) continue;
      rmSync(path.join(folder, entry), { force: true });
      removed++;
    }
  }
  return removed;
}

/** Makes a directory's entries (new and renamed files) durable; best effort where directories cannot be opened. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    if (!['EISDIR', 'EPERM', 'EACCES', 'EINVAL'].includes(errnoCode(error) ?? '')) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export const DEFAULT_JOURNAL_LOCK_TIMEOUT_MS = 120_000;

/** Runs `fn` holding the journal's set-up lock (`<dir>/.lock`; a dead holder is reclaimed at once). */
export function withJournalLock<T>(dir: string, command: string, timeoutMs: number | undefined, fn: () => Promise<T>): Promise<T> {
  return withLock(`journal:${dir}`, { lockDir: path.join(dir, LOCK_DIR), timeoutMs: timeoutMs ?? DEFAULT_JOURNAL_LOCK_TIMEOUT_MS, command }, fn);
}
