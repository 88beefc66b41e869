import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { readdirOrEmpty } from '../util/fs';
import * as path from 'path';
import { ProcessProbe, systemProcessProbe } from '../lock/process-probe';

/**
 * What the task processes of one per-task run (one Nx invocation) tell each
 * other, beside the journal: `<journalDir>/runs/<runId>/`
 *
 *   tasks/<pid>   a task of the run is between its start and its end
 *   <name>        a once-per-run claim (claim()): `completed` (the task that
 *                 finishes the journal and reports), `reported` (the stop
 *                 report was printed), `waiting` (the task that prints the
 *                 run's "Waiting for …" lines)
 *   ended-badly   a flag (flag()): a record of the run was moved to failed
 *                 or blocked (set before the record is written)
 *   <name>.json   a value the first task to need it computed for the whole
 *                 run (shared()): the git answers every task would otherwise
 *                 ask git for again
 *
 * Every file is created exclusively (O_EXCL), so of several tasks exactly
 * one wins a claim. The folders of runs whose root process is gone are
 * removed by the next run (sweep()).
 */
export class RunMarkers {
  readonly dir: string;
  private readonly owned = new Set<string>();
  /** This task's entry under tasks/: its pid, and a nonce, since two tasks of one process (tests, batches in one worker) must not share one. */
  private readonly entry: string;

  constructor(
    readonly journalDir: string,
    readonly runId: string,
    private readonly pid = process.pid,
    private readonly probe: ProcessProbe = systemProcessProbe,
  ) {
    this.dir = path.join(journalDir, 'runs', safeName(runId));
    this.entry = `${pid}-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** True for exactly one caller per run and name (true again for that caller). */
  claim(name: string): boolean {
    if (this.owned.has(name)) return true;
    mkdirSync(this.dir, { recursive: true });
    try {
      writeFileSync(path.join(this.dir, name), `${this.pid} ${new Date().toISOString()}\n`, { flag: 'wx' });
    } catch {
      return false;
    }
    this.owned.add(name);
    return true;
  }

  /** Sets a flag any task of the run may set, any number of times (on disk before it returns). */
  flag(name: string): void {
    if (this.owned.has(name)) return;
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(path.join(this.dir, name), `${this.pid} ${new Date().toISOString()}\n`);
    this.owned.add(name);
  }

  /** Whether a claim or flag of this name was made. */
  has(name: string): boolean {
    return this.owned.has(name) || existsSync(path.join(this.dir, name));
  }

  /**
   * The run's one answer to a question whose answer does not change during
   * the run: the first task to ask computes it, the others read it. Written
   * to a temp file and renamed, so a reader sees all of it or none; two tasks
   * asking at once may both compute it (and agree).
   */
  shared(name: string, compute: () => string | undefined): string | undefined {
    const file = path.join(this.dir, `${name}.json`);
    try {
      const stored: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof stored === 'object' && stored !== null && 'value' in stored) {
        const { value } = stored as { value: unknown };
        if (value === null || typeof value === 'string') return value ?? undefined;
      }
    } catch {
      /* not there yet (or not readable): compute it */
    }
    const value = compute();
    mkdirSync(this.dir, { recursive: true });
    const temp = `${file}.${this.entry}.tmp`;
    writeFileSync(temp, JSON.stringify({ value: value ?? null }));
    renameSync(temp, file);
    return value;
  }

  /** This task has started: other tasks of the run count it as active until leave(). */
  enter(): void {
    mkdirSync(path.join(this.dir, 'tasks'), { recursive: true });
    writeFileSync(path.join(this.dir, 'tasks', this.entry), '');
  }

  leave(): void {
    rmSync(path.join(this.dir, 'tasks', this.entry), { force: true });
  }

  /**
   * Whether another task of the run is still between enter() and leave()
   * (and alive). A task calls this after its own leave(): of tasks ending
   * together, the last to leave sees none.
   */
  othersActive(): boolean {
    return readdirOrEmpty(path.join(this.dir, 'tasks'), { emptyWhen: 'unreadable' }).some((name) => name !== this.entry && this.probe.isAlive(Number(name.split('-')[0])));
  }

  /**
   * Removes the folders of other runs on this host whose root process is
   * gone (dead, or its pid now another process); runs of other hosts (a
   * shared cache) are left alone.
   */
  sweep(): void {
    const base = path.join(this.journalDir, 'runs');
    const names = readdirOrEmpty(base, { emptyWhen: 'unreadable' });
    const host = safeName(this.probe.hostname());
    for (const name of names) {
      if (name === path.basename(this.dir)) continue;
      const match = /^(.*)_(\d+)_([^_]+)$/.exec(name);
      if (!match || match[1] !== host) continue;
      const pid = Number(match[2]);
      const alive = this.probe.isAlive(pid) && safeName(this.probe.startTime(pid) ?? '0') === match[3];
      if (!alive) rmSync(path.join(base, name), { recursive: true, force: true });
    }
  }
}

/** A run id (`host:pid:start`) as one path segment. */
function safeName(text: string): string {
  return text.replace(/[^\w.-]/g, '_');
}
