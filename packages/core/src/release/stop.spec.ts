import { EventEmitter } from 'events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_STOP_GRACE_MS, NX_KILL_MARGIN_MS, RunStop, STOP_BACKSTOP_MS, STOP_ECHO_MS, stopExitCode, stopGrace } from './stop';

describe('stopGrace', () => {
  it('is LOCKSTEP_STOP_GRACE_MS (default 30 s) outside Nx; a value that is not a whole number of ms is the default', () => {
    expect(stopGrace({})).toEqual({ graceMs: DEFAULT_STOP_GRACE_MS, askedMs: 30_000 });
    expect(stopGrace({ LOCKSTEP_STOP_GRACE_MS: '3000' })).toEqual({ graceMs: 3000, askedMs: 3000 });
    expect(stopGrace({ LOCKSTEP_STOP_GRACE_MS: '0' })).toEqual({ graceMs: 0, askedMs: 0 });
    for (const bad of ['', '-5', '1e3', '2s', 'abc']) expect(stopGrace({ LOCKSTEP_STOP_GRACE_MS: bad }).graceMs).toBe(30_000);
  });

  it('under Nx ends NX_KILL_MARGIN_MS before Nx kills its tasks (NX_PROCESS_KILL_GRACE_PERIOD, 5 s by default), and says so', () => {
    expect(stopGrace({ NX_FORKED_TASK_EXECUTOR: 'true' })).toEqual({ graceMs: 5000 - NX_KILL_MARGIN_MS, askedMs: 30_000, nxKillGraceMs: 5000 });
    expect(stopGrace({ NX_FORKED_TASK_EXECUTOR: 'true', NX_PROCESS_KILL_GRACE_PERIOD: '120000' })).toEqual({ graceMs: 30_000, askedMs: 30_000 });
    expect(stopGrace({ NX_FORKED_TASK_EXECUTOR: 'true', NX_PROCESS_KILL_GRACE_PERIOD: '120000', LOCKSTEP_STOP_GRACE_MS: '3000' })).toEqual({ graceMs: 3000, askedMs: 3000 });
    expect(stopGrace({ NX_TASK_TARGET_PROJECT: 'a', NX_PROCESS_KILL_GRACE_PERIOD: '1000' })).toEqual({ graceMs: 0, askedMs: 30_000, nxKillGraceMs: 1000 });
  });
});

describe('stopExitCode', () => {
  it('is 128 + the signal number', () => {
    expect(stopExitCode('SIGINT')).toBe(130);
    expect(stopExitCode('SIGTERM')).toBe(143);
  });
});

describe('RunStop', () => {
  let clock = 0;
  let signals: EventEmitter;
  let lines: string[];
  let exits: number[];
  const make = (env: NodeJS.ProcessEnv = { LOCKSTEP_STOP_GRACE_MS: '1000' }, extra: Partial<ConstructorParameters<typeof RunStop>[0]> = {}) =>
    new RunStop({
      env,
      log: (line) => lines.push(line),
      signals: signals as unknown as NodeJS.Process,
      now: () => clock,
      exit: (code) => void exits.push(code),
      openTerminal: () => undefined,
      ...extra,
    });

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
    signals = new EventEmitter();
    lines = [];
    exits = [];
  });
  afterEach(() => jest.useRealTimers());

  it('the first signal: says what happens, stops starting, and aborts what is in flight only when the grace is over', () => {
    const stop = make();
    expect(stop.stopping).toBe(false);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(stop.stopping).toBe(true);
    expect(stop.exitCode).toBe(143);
    expect(lines).toEqual([
      'SIGTERM: finishing the upload in flight within 1 s (LOCKSTEP_STOP_GRACE_MS); packages not started stay pending for the next run. A second signal stops at once.',
    ]);
    expect(stop.abort.aborted).toBe(false);
    jest.advanceTimersByTime(999);
    expect(stop.abort.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(stop.abort.aborted).toBe(true);
    expect(stop.abort.reason).toMatchObject({ code: 'EABORTED', message: 'Stopped by SIGTERM: the grace of 1 s ran out.' });
    expect(lines[1]).toMatch(/^The stop's grace \(1 s\) is over: cutting off what is still in flight/);
    stop.dispose();
  });

  it('a second signal cuts off at once; one within the echo window (Nx passing the same stop on) does not', () => {
    const stop = make({ LOCKSTEP_STOP_GRACE_MS: '60000' });
    signals.emit('SIGINT', 'SIGINT');
    clock += STOP_ECHO_MS - 1;
    signals.emit('SIGTERM', 'SIGTERM');
    expect(stop.abort.aborted).toBe(false);
    expect(stop.signal).toBe('SIGINT');
    clock += 2;
    signals.emit('SIGINT', 'SIGINT');
    expect(stop.abort.aborted).toBe(true);
    expect(lines[1]).toBe('SIGINT again: stopping now. What is in flight is cut off; the next run checks the registry before it uploads.');
    expect(stop.exitCode).toBe(130);
    stop.dispose();
  });

  it('a process still winding down after the cut-off exits anyway, with the signal\'s code', () => {
    const stop = make();
    signals.emit('SIGTERM', 'SIGTERM');
    jest.advanceTimersByTime(1000 + STOP_BACKSTOP_MS);
    expect(lines.at(-1)).toMatch(/^Still winding down 1 s after the cut-off: exiting now \(exit code 143\)/);
    return Promise.resolve()
      .then(() => jest.runAllTimersAsync())
      .then(() => {
        expect(exits).toEqual([143]);
        stop.dispose();
      });
  });

  it('under Nx with its default kill grace, the first line says the grace is Nx\'s and how to raise it', () => {
    const stop = make({ NX_FORKED_TASK_EXECUTOR: 'true' });
    signals.emit('SIGTERM', 'SIGTERM');
    expect(lines[0]).toBe(
      'SIGTERM: finishing the upload in flight within 3.5 s (Nx kills its tasks 5 s after it stops them: set NX_PROCESS_KILL_GRACE_PERIOD above LOCKSTEP_STOP_GRACE_MS, 30000 ms, to allow the whole grace); ' +
        'packages not started stay pending for the next run. A second signal stops at once.',
    );
    stop.dispose();
  });

  it('a superseded run says by whom (describe, asked at the signal)', () => {
    const stop = make();
    stop.describe = () => "superseded by pid 42@ci ('nx publish') at 2030-01-01T00:00:00Z";
    signals.emit('SIGTERM', 'SIGTERM');
    expect(stop.reason).toBe("superseded by pid 42@ci ('nx publish') at 2030-01-01T00:00:00Z");
    expect(lines[0]).toMatch(/^SIGTERM: this run was superseded by pid 42@ci \('nx publish'\) at 2030-01-01T00:00:00Z \(cancelInProgress\)\. Finishing the upload in flight within 1 s/);
    stop.dispose();
  });

  it('after SIGINT, prints straight to the place it was given (Nx drops its tasks\' output after SIGINT); before it and after SIGTERM, to stdout', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-stop-'));
    const file = path.join(dir, 'nx-stdout');
    const fds: number[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const open = (fd: 1 | 2) => {
        const opened = openSync(`${file}.${fd}`, 'a');
        fds.push(opened);
        return opened;
      };
      const stop = make({}, { openTerminal: open, log: (line) => stop.print(line) });
      stop.print('before');
      signals.emit('SIGINT', 'SIGINT');
      stop.print('after');
      stop.printError('an error');
      expect(log.mock.calls.map((c) => c[0])).toEqual(['before']);
      expect(readFileSync(`${file}.1`, 'utf8')).toMatch(/^SIGINT: finishing the upload in flight[^\n]*\nafter\n$/);
      expect(readFileSync(`${file}.2`, 'utf8')).toBe('an error\n');
      stop.dispose();

      const term = make({}, { openTerminal: open });
      signals.emit('SIGTERM', 'SIGTERM');
      term.print('after SIGTERM');
      expect(log.mock.calls.map((c) => c[0])).toEqual(['before', 'after SIGTERM']);
      term.dispose();
    } finally {
      log.mockRestore();
      for (const fd of fds) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('summaryLine names the signal, what is left for the next run, and the exit code', () => {
    const stop = make();
    signals.emit('SIGINT', 'SIGINT');
    expect(stop.summaryLine({ published: 2, skipped: 1, failed: 0, blocked: 0, pending: 3 })).toBe(
      'Stopped by SIGINT: 2 published, 3 not finished (left in the journal: the next run at this commit resumes them). Exit code 130.',
    );
    stop.dispose();
  });

  it('dispose stops listening', () => {
    const stop = make();
    stop.dispose();
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  });
});
