import { existsSync, promises as fsp } from 'fs';
import * as path from 'path';
import { fsyncDir, packagesPath, readAllRecords, readRunFile, runPath, sweepJournalTemps, withJournalLock } from './journal-files';
import { PackageRecord, RunRecord } from './records';

export interface JournalSnapshot {
  dir: string;
  run: RunRecord;
  /** Records of the run's packages, in run.json's order. */
  packages: PackageRecord[];
  /** Packages run.json lists that have no record (a set-up cut short). */
  missing: string[];
  /** Records of packages the run does not list (left from an earlier run, or added by a task process of this one). */
  others: PackageRecord[];
}

/**
 * Reads the whole journal for inspection (`lockstep state show`), checking
 * every file: a corrupt one is EJOURNALCORRUPT naming it. Undefined when
 * there is no run. Takes no lock: every file is replaced atomically, so each
 * is read whole, old or new.
 */
export async function readJournal(dir: string): Promise<JournalSnapshot | undefined> {
  const root = path.resolve(dir);
  const run = readRunFile(root);
  if (!run) return undefined;
  const records = readAllRecords(root);
  const listed = new Set(run.packages.map((p) => p.name));
  return {
    dir: root,
    run,
    packages: run.packages.flatMap((p) => records.get(p.name) ?? []),
    missing: run.packages.filter((p) => !records.has(p.name)).map((p) => p.name),
    others: [...records.values()].filter((r) => !listed.has(r.name)),
  };
}

/**
 * Deletes the journal's run and records (`lockstep state clear`), run.json
 * first, under the set-up lock so it never interleaves with an openJournal.
 * Resolves to whether there was a run. Deleting the journal of a live run
 * makes its finish() fail; the release lock is what keeps that from happening.
 */
export async function clearJournal(dir: string, options: { lockTimeoutMs?: number } = {}): Promise<boolean> {
  const root = path.resolve(dir);
  if (!existsSync(root)) return false;
  return withJournalLock(root, 'lockstep: clear publish journal', options.lockTimeoutMs, async () => {
    const had = existsSync(runPath(root));
    await fsp.rm(runPath(root), { force: true });
    fsyncDir(root);
    await fsp.rm(packagesPath(root), { recursive: true, force: true });
    sweepJournalTemps(root);
    return had;
  });
}
