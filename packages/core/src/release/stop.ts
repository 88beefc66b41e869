import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'fs';
import { constants } from 'os';
import { stoppedError } from './errors';

/**
 * How a publish process stops when asked (SIGINT, SIGTERM), per task and in
 * batch mode:
 *
 *  - the first signal says what happens, starts no package and lets no
 *    package begin an upload; what is in flight (uploads and their
 *    verification) may finish within the grace, LOCKSTEP_STOP_GRACE_MS
 *    (30 s), capped under Nx by Nx's own kill grace;
 *  - when the grace is over, or on a second signal, `abort` fires: every
 *    registry request, retry wait and verification rejects at once;
 *  - the process prints the summary so far and exits 128 + the signal's
 *    number (SIGINT 130, SIGTERM 143) through exit();
 *  - a process still winding down STOP_BACKSTOP_MS after the abort exits
 *    all the same (like a SIGKILL, which the journal survives: G2).
 *
 * Nx 23 stops its tasks by sending SIGTERM to each task's process tree and
 * SIGKILLs what is left after NX_PROCESS_KILL_GRACE_PERIOD (5 s): under Nx
 * the grace ends NX_KILL_MARGIN_MS before that, so the summary is printed
 * and the process exits before Nx kills it. A signal within STOP_ECHO_MS of
 * the first is the same request passed on (a Ctrl-C reaches a task from
 * the terminal and again from Nx, as SIGTERM), not a second one.
 *
 * After SIGINT Nx (without its TUI) drops everything its tasks print, so a
 * process that got SIGINT itself under Nx writes its lines straight to Nx's
 * own stdout (Linux: /proc/<ppid>/fd/1) instead.
 */
export const DEFAULT_STOP_GRACE_MS = 30_000;
/** Nx's kill grace when NX_PROCESS_KILL_GRACE_PERIOD is not set (Nx 23). */
export const NX_DEFAULT_KILL_GRACE_MS = 5_000;
/** Under Nx the grace ends this long before Nx's, for the summary and the exit. */
export const NX_KILL_MARGIN_MS = 1_500;
/** Signals this soon after the first one are the same request passed on. */
export const STOP_ECHO_MS = 2_000;
/** How long after the abort the process may take to wind down before it exits anyway. */
export const STOP_BACKSTOP_MS = 1_000;

export interface StopGrace {
  /** How long what is in flight may go on after the first signal. */
  graceMs: number;
  /** What LOCKSTEP_STOP_GRACE_MS asks for (default 30 s). */
  askedMs: number;
  /** Nx's kill grace, when it is what limits graceMs. */
  nxKillGraceMs?: number;
}

const wholeMs = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
};

/** True in a process Nx started for a task or a batch. */
export function underNx(env: NodeJS.ProcessEnv): boolean {
  return env.NX_FORKED_TASK_EXECUTOR === 'true' || env.NX_TASK_TARGET_PROJECT !== undefined;
}

/** The grace of a stop: LOCKSTEP_STOP_GRACE_MS (default 30 s), under Nx at most Nx's kill grace minus a margin. */
export function stopGrace(env: NodeJS.ProcessEnv): StopGrace {
  const askedMs = wholeMs(env.LOCKSTEP_STOP_GRACE_MS) ?? DEFAULT_STOP_GRACE_MS;
  if (!underNx(env)) return { graceMs: askedMs, askedMs };
  const nxKillGraceMs = wholeMs(env.NX_PROCESS_KILL_GRACE_PERIOD) ?? NX_DEFAULT_KILL_GRACE_MS;
  const cap = Math.max(0, nxKillGraceMs - NX_KILL_MARGIN_MS);
  return cap < askedMs ? { graceMs: cap, askedMs, nxKillGraceMs } : { graceMs: askedMs, askedMs };
}

export const seconds = (ms: number) => `${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`;

/** The exit code of a process stopped by `signal`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function stopExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 15);
}


type SignalSource = Pick<NodeJS.Process, 'on' | 'removeListener'>;

export interface RunStopOptions {
  env: NodeJS.ProcessEnv;
  /** Prints one line (the executor's log: `[lockstep] …`). */
  log: (line: string) => void;
  /** Where signals come from. Default: this process. */
  signals?: SignalSource;
  now?: () => number;
  /** Ends the process. Default process.exit. */
  exit?: (code: number) => void;
  /**
   * Opens Nx's own stdout (or stderr: fd 2) for writing, for when Nx drops
   * its tasks' output (after SIGINT). Default: /proc/<ppid>/fd/<fd> under
   * Nx when this process's stdout is not a terminal; undefined: no such place.
   */
  openTerminal?: (fd: 1 | 2) => number | undefined;
}

export class RunStop {
  /** The first signal, once one came. */
  signal: NodeJS.Signals | undefined;
  /** What the run was when it got the first signal ("superseded by …"), from `describe`. */
  reason: string | undefined;
  /** Says what the run is when a signal comes (the release lock: superseded by whom). */
  describe: (() => string | undefined) | undefined;
  readonly grace: StopGrace;
  private readonly controller = new AbortController();
  private readonly signals: SignalSource;
  private readonly now: () => number;
  private firstAt = 0;
  private timers: NodeJS.Timeout[] = [];
  private direct: { out?: number; err?: number } | undefined;
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal);

  constructor(private readonly options: RunStopOptions) {
    this.grace = stopGrace(options.env);
    this.signals = options.signals ?? process;
    this.now = options.now ?? (() => performance.now());
    this.signals.on('SIGINT', this.handler);
    this.signals.on('SIGTERM', this.handler);
  }

  /** True once a stop was asked for: start nothing more. */
  get stopping(): boolean {
    return this.signal !== undefined;
  }

  /** Aborts when the grace is over or on a second signal: what is in flight stops at once. */
  get abort(): AbortSignal {
    return this.controller.signal;
  }

  /** 128 + the first signal's number, once stopped. */
  get exitCode(): number | undefined {
    return this.signal ? stopExitCode(this.signal) : undefined;
  }

  /** Prints a line: to this process's stdout, or straight to Nx's when Nx drops its tasks' output. */
  print(text: string): void {
    if (this.direct?.out !== undefined && this.writeDirect(this.direct.out, text)) return;
    console.log(text);
  }

  printError(text: string): void {
    if (this.direct?.err !== undefined && this.writeDirect(this.direct.err, text)) return;
    console.error(text);
  }

  /** The last line of a stopped run's report. */
  summaryLine(counts: { published: number; skipped: number; pending: number; failed: number; blocked: number }): string {
    const open = counts.pending;
    return (
      `Stopped by ${this.signal}: ${counts.published} published, ${open} not finished` +
      `${open ? ' (left in the journal: the next run at this commit resumes them)' : ''}. Exit code ${this.exitCode}.`
    );
  }

  /** Stops listening (a run that ended without a stop). */
  dispose(): void {
    this.signals.removeListener('SIGINT', this.handler);
    this.signals.removeListener('SIGTERM', this.handler);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  /** Flushes what was printed and ends the process with exitCode. */
  async exit(): Promise<void> {
    const code = this.exitCode ?? 1;
    await Promise.all([flush(process.stdout), flush(process.stderr)]);
    this.dispose();
    (this.options.exit ?? process.exit)(code);
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.signal === undefined) {
      this.signal = signal;
      this.firstAt = this.now();
      if (signal === 'SIGINT') this.goDirect();
      this.reason = safe(() => this.describe?.());
      this.options.log(this.firstLine(signal));
      this.later(this.grace.graceMs, () => {
        if (this.abort.aborted) return;
        this.options.log(`The stop's grace (${seconds(this.grace.graceMs)}) is over: cutting off what is still in flight; the next run checks the registry before it uploads.`);
        this.cutOff(`the grace of ${seconds(this.grace.graceMs)} ran out`);
      });
      return;
    }
    if (this.now() - this.firstAt < STOP_ECHO_MS || this.abort.aborted) return;
    this.options.log(`${signal} again: stopping now. What is in flight is cut off; the next run checks the registry before it uploads.`);
    this.cutOff(`${signal} again`);
  }

  private firstLine(signal: NodeJS.Signals): string {
    const { graceMs, askedMs, nxKillGraceMs } = this.grace;
    const within =
      nxKillGraceMs !== undefined
        ? `within ${seconds(graceMs)} (Nx kills its tasks ${seconds(nxKillGraceMs)} after it stops them: set NX_PROCESS_KILL_GRACE_PERIOD above LOCKSTEP_STOP_GRACE_MS, ${askedMs} ms, to allow the whole grace)`
        : `within ${seconds(graceMs)} (LOCKSTEP_STOP_GRACE_MS)`;
    if (this.reason) {
      return `${signal}: this run was ${this.reason} (cancelInProgress). Finishing the upload in flight ${within}; packages not started stay pending for the newer run.`;
    }
    return `${signal}: finishing the upload in flight ${within}; packages not started stay pending for the next run. A second signal stops at once.`;
  }

  private cutOff(why: string): void {
    this.controller.abort(stoppedError(this.signal!, why));
    this.later(STOP_BACKSTOP_MS, () => {
      this.options.log(`Still winding down ${seconds(STOP_BACKSTOP_MS)} after the cut-off: exiting now (exit code ${this.exitCode}). The journal is intact; the next run resumes.`);
      void this.exit();
    });
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    this.timers.push(timer);
  }

  private goDirect(): void {
    const open = this.options.openTerminal ?? ((fd: 1 | 2) => openNxTerminal(this.options.env, fd));
    this.direct = { out: safe(() => open(1)), err: safe(() => open(2)) };
  }

  private writeDirect(fd: number, text: string): boolean {
    try {
      writeSync(fd, `${text}\n`);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Nx's own stdout or stderr, opened anew through /proc (Linux) when this
 * process is an Nx task or batch whose output Nx pipes (not a terminal):
 * after SIGINT Nx drops what comes through that pipe. Works where Nx writes
 * to a terminal, a pipe or a file it appends to; not where it writes to a
 * socket (a Node parent's 'pipe') or a file it overwrites (`> log`: its own
 * offset would overwrite these lines): then the controlling terminal, if
 * there is one, else nothing.
 */
export function openNxTerminal(env: NodeJS.ProcessEnv, fd: 1 | 2): number | undefined {
  if (!underNx(env) || process.platform !== 'linux') return undefined;
  if ((fd === 1 ? process.stdout : process.stderr).isTTY) return undefined;
  return openWritable(`/proc/${process.ppid}/fd/${fd}`, `/proc/${process.ppid}/fdinfo/${fd}`) ?? openWritable('/dev/tty');
}

function openWritable(file: string, fdinfo?: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'a');
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile() || (fdinfo !== undefined && appends(fdinfo))) return fd;
  } catch {
    // unusable
  }
  closeSync(fd);
  return undefined;
}

/** Whether the file descriptor /proc/<pid>/fdinfo/<fd> describes was opened with O_APPEND. */
function appends(fdinfo: string): boolean {
  const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(fdinfo, 'utf8'))?.[1];
  return flags !== undefined && (parseInt(flags, 8) & 0o2000) !== 0;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** Resolves once what was written to `stream` has been handed on (a pipe to Nx), or after 2 s. */
function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    timer.unref?.();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      stream.write('', done);
    } catch {
      done();
    }
  });
}
