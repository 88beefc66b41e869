/**
 * Stopping a publish run, and what every run reports at its end, with the
 * real nx binary and a real Verdaccio behind the fault proxy (workspaces of
 * 6 packages in 3 levels, utils/publish-workspace.ts):
 *
 *  - the first SIGINT or SIGTERM: a `[lockstep]` line saying what happens,
 *    no package starts, the upload in flight finishes within the grace
 *    (LOCKSTEP_STOP_GRACE_MS), the summary so far, the lockstep process
 *    exits 130 / 143 (Nx itself exits 130 for any stop), the journal
 *    parses, and the next run resumes without uploading anything twice;
 *  - a registry that hangs: the grace cuts off what is in flight, and the
 *    process is gone by itself;
 *  - a second signal cuts off at once;
 *  - per task, a run with a failed package still ends with its table, its
 *    summary file and a journal that says failed;
 *  - per task, a resumed run reports its own times.
 *
 * SIGINT is sent as a terminal's Ctrl-C sends it, to nx and its task
 * processes (the process group), with nx writing to a file it appends to:
 * Nx drops its tasks' output after SIGINT, and lockstep writes its lines
 * straight to Nx's stdout instead, which must be a terminal, a pipe or a
 * file opened for appending (the harness's own pipes are sockets). SIGTERM
 * is sent to nx alone, as a CI runner cancelling a job does.
 */
import * as fs from 'fs';
import * as path from 'path';
import { expectFailure, expectSuccess } from './utils/temp-workspace';
import {
  NxRun,
  PublishRegistry,
  PublishWorkspace,
  RunResult,
  expectDependencyOrder,
  expectEveryVersionOnce,
  expectRealManifests,
  lockstepLines,
  show,
  summaryCounts,
  usePublishSuite,
  waitFor,
} from './utils/publish-workspace';

// A test is two or three nx runs of 6 packages, with latency: minutes on a loaded 2-core machine.
jest.setTimeout(300_000);

let reg: PublishRegistry;
const workspace = usePublishSuite((started) => (reg = started));

const MODES: Array<[string, string[]]> = [
  ['per task', []],
  ['batch', ['--batch']],
];
const SUMMARY = 'dist/summary.json';
const exitCodeOf = (signal: 'SIGINT' | 'SIGTERM') => (signal === 'SIGINT' ? 130 : 143);

/** The nx run's own end: resolves once nx exited by itself; fails the test (SIGKILLing what is left) if it is still alive after `ms`. */
async function exitedWithin(run: NxRun, ms: number, what: string): Promise<RunResult> {
  try {
    await waitFor(() => run.child.exitCode !== null || run.child.signalCode !== null, ms, what);
  } catch (error) {
    run.killGroup();
    await run.done;
    throw new Error(`${(error as Error).message}; it was SIGKILLed. It printed:\n${run.output()}`);
  }
  return run.done;
}

/** Sends `signal` as a terminal's Ctrl-C does (SIGINT: the whole process group) or as a CI runner does (SIGTERM: nx alone). */
function signalRun(run: NxRun, signal: 'SIGINT' | 'SIGTERM'): void {
  process.kill(signal === 'SIGINT' ? -run.pid : run.pid, signal);
}

/** From the first upload of `pws` on, every request of the run hangs at the proxy (never answered, never forwarded); the first upload itself goes through. */
function hangAfterFirstUpload(pws: PublishWorkspace): () => void {
  let hanging = false;
  reg.proxy.setOptions({
    rules: (req) => {
      if (hanging) return 'hang';
      if (req.isUpload && req.name?.startsWith(`@${pws.scope}/`)) hanging = true;
      return undefined;
    },
  });
  return () => reg.proxy.setOptions({ rules: undefined });
}

/** The table's counts line (one per table printed) and its total time in seconds. */
function tableTotals(output: string): Array<{ counts: string; seconds: number }> {
  return [...output.matchAll(/(\d+ published, \d+ skipped, \d+ failed, \d+ blocked(?:, \d+ pending)?) in ([\d.]+) s\./g)].map((m) => ({ counts: m[1], seconds: Number(m[2]) }));
}

/** Where nx (started by spawnPublish with appendTo) writes its output: a file it appends to, as `nx … >> log`. */
const nxLog = (pws: PublishWorkspace) => pws.ws.scratch(`nx-${Date.now()}.log`);

/** The re-run after a stop: it resumes the journal, and across both runs every version reached the registry exactly once, dependencies first. */
async function expectResumedWithoutDuplicates(pws: PublishWorkspace, args: string[], label: string): Promise<void> {
  const rerun = await pws.publish(args);
  show(`${label}: the re-run`, rerun);
  expectSuccess(rerun, `${label}: the re-run`);
  expect(rerun.output).toMatch(/Resuming the unfinished run /);
  expectEveryVersionOnce(pws, pws.uploads());
  expectDependencyOrder(pws, pws.uploads());
  await expectRealManifests(pws);
  expect(pws.readJournal().run).toMatchObject({ status: 'done', sha: pws.head() });
}

describe.each(MODES)('stopping nx run-many -t publish (%s)', (mode, args) => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'the first %s during uploads: a [lockstep] line says it stops, the upload in flight finishes, the summary so far is printed and written, exit 130/143; the journal parses and the re-run resumes without a duplicate upload',
    async (signal) => {
      const pws = await workspace(`stop-${mode === 'batch' ? 'b' : 't'}-${signal.toLowerCase()}`);
      // Each request takes a second, so the signal lands while level 0 is uploading; Nx's own kill grace (5 s) is raised so the 30 s grace is lockstep's.
      reg.proxy.setOptions({ latencyMs: 1000 });
      const log = signal === 'SIGINT' ? nxLog(pws) : undefined;
      let stopped: RunResult;
      try {
        const run = pws.spawnPublish([...args, `--summaryFile=${SUMMARY}`], { env: { NX_PROCESS_KILL_GRACE_PERIOD: '120000' }, appendTo: log });
        await waitFor(() => pws.uploads().length >= 1 || run.child.exitCode !== null, 120_000, 'the first upload of the run to reach the proxy');
        expect(run.child.exitCode).toBeNull();
        signalRun(run, signal);
        stopped = await exitedWithin(run, 120_000, `nx to exit after ${signal}`);
      } finally {
        reg.proxy.setOptions({ latencyMs: 0 });
      }
      show(`${mode}, first ${signal}`, stopped);

      // Nx reports any stop with SIGINT's code; lockstep's own process says its code (128 + the signal) in its last line and the summary file.
      expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 130, signal: null });
      const lines = lockstepLines(stopped.output);
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\[lockstep\\] ${signal}: finishing the upload in flight within 30 s \\(LOCKSTEP_STOP_GRACE_MS\\); packages not started stay pending`)));
      expect(tableTotals(stopped.output)).toHaveLength(1);
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\[lockstep\\] Stopped by ${signal}: \\d+ published, \\d+ not finished .*\\. Exit code ${exitCodeOf(signal)}\\.$`)));
      const summary = JSON.parse(fs.readFileSync(pws.ws.path(SUMMARY), 'utf8'));
      expect(summary).toMatchObject({ ok: false, stopped: { signal, exitCode: exitCodeOf(signal) } });
      await waitFor(() => pws.livingProcesses().length === 0, 30_000, () => `no process left in the workspace: ${JSON.stringify(pws.livingProcesses())}`);

      // Only level 0 was under way: its uploads finished (none cut off), nothing of a higher level started, and the journal says so.
      const uploads = pws.uploads();
      expect(uploads.length).toBeGreaterThan(0);
      const journal = pws.readJournal();
      expect(journal.run?.status).toBe('running');
      for (const u of uploads) {
        expect({ name: u.name, status: u.status, journal: journal.records[u.name]?.status }).toEqual({ name: u.name, status: 201, journal: 'published' });
        expect([pws.name('utils'), pws.name('config')]).toContain(u.name);
      }
      for (const short of ['core', 'ui', 'cli']) expect(journal.records[pws.name(short)].status).toBe('pending');
      expect(summary.counts).toMatchObject({ published: uploads.length, failed: 0, blocked: 0 });

      await expectResumedWithoutDuplicates(pws, args, `${mode}, ${signal}`);
    },
  );

  it('the registry hangs: SIGTERM with LOCKSTEP_STOP_GRACE_MS=3000 cuts off what is in flight when the grace is over, and the process is gone by itself, having said so; the re-run resumes without a duplicate upload', async () => {
    const pws = await workspace(`stop-hang-${mode === 'batch' ? 'b' : 't'}`);
    // Nx would SIGKILL its tasks 5 s after it stops them: raised far above, so that only lockstep's grace can end the run in time.
    const env = { LOCKSTEP_STOP_GRACE_MS: '3000', NX_PROCESS_KILL_GRACE_PERIOD: '300000' };
    const restore = hangAfterFirstUpload(pws);
    let stopped: RunResult;
    try {
      const run = pws.spawnPublish([...args, `--summaryFile=${SUMMARY}`], { env });
      await waitFor(() => pws.requests().some((r) => r.fault === 'hang') || run.child.exitCode !== null, 120_000, 'a request of the run hanging at the registry');
      expect(run.child.exitCode).toBeNull();
      signalRun(run, 'SIGTERM');
      // Generous: what matters is that it exits by itself (the registry never answers, Nx would wait 300 s), not how fast.
      stopped = await exitedWithin(run, 60_000, 'nx to exit by itself after SIGTERM with the registry hanging (LOCKSTEP_STOP_GRACE_MS=3000)');
    } finally {
      restore();
    }
    show(`${mode}, registry hanging, SIGTERM`, stopped);
    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 130, signal: null });
    const lines = lockstepLines(stopped.output);
    expect(lines).toContainEqual(expect.stringMatching(/^\[lockstep\] SIGTERM: finishing the upload in flight within 3 s \(LOCKSTEP_STOP_GRACE_MS\)/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[lockstep\] The stop's grace \(3 s\) is over: cutting off what is still in flight/));
    expect(lines).toContainEqual(expect.stringMatching(/ stopped: cut off in flight; the next run checks the registry before it uploads$/));
    expect(tableTotals(stopped.output)).toHaveLength(1);
    expect(lines).toContainEqual(expect.stringMatching(/^\[lockstep\] Stopped by SIGTERM: .*Exit code 143\.$/));
    expect(JSON.parse(fs.readFileSync(pws.ws.path(SUMMARY), 'utf8'))).toMatchObject({ stopped: { signal: 'SIGTERM', exitCode: 143 }, counts: { failed: 0, blocked: 0 } });
    await waitFor(() => pws.livingProcesses().length === 0, 30_000, () => `no process left in the workspace: ${JSON.stringify(pws.livingProcesses())}`);
    expect(pws.readJournal().run?.status).toBe('running');
    await expectResumedWithoutDuplicates(pws, args, `${mode}, registry hanging`);
  });

  it('a second signal stops at once: with a 600 s grace and the registry hanging, the second Ctrl-C cuts off what is in flight and the process is gone, having printed the summary', async () => {
    const pws = await workspace(`stop-twice-${mode === 'batch' ? 'b' : 't'}`);
    const env = { LOCKSTEP_STOP_GRACE_MS: '600000', NX_PROCESS_KILL_GRACE_PERIOD: '900000' };
    const restore = hangAfterFirstUpload(pws);
    let stopped: RunResult;
    try {
      const run = pws.spawnPublish([...args, `--summaryFile=${SUMMARY}`], { env, appendTo: nxLog(pws) });
      await waitFor(() => pws.requests().some((r) => r.fault === 'hang') || run.child.exitCode !== null, 120_000, 'a request of the run hanging at the registry');
      expect(run.child.exitCode).toBeNull();
      signalRun(run, 'SIGINT');
      await waitFor(() => /SIGINT: finishing the upload in flight within 600 s/.test(run.output()), 60_000, 'the first SIGINT\'s [lockstep] line');
      // Signals within 2 s of the first are taken for the same stop passed on (Nx sends its tasks SIGTERM when it stops): press again after that.
      const firstSeen = Date.now();
      await waitFor(() => Date.now() - firstSeen >= 2_500, 10_000, 'the 2 s after the first signal to pass');
      signalRun(run, 'SIGINT');
      // The grace is 600 s and the registry never answers: only the second signal can end the run this soon.
      stopped = await exitedWithin(run, 60_000, 'nx to exit within 60 s of the second SIGINT (the grace is 600 s)');
    } finally {
      restore();
    }
    show(`${mode}, SIGINT twice`, stopped);
    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 130, signal: null });
    const lines = lockstepLines(stopped.output);
    expect(lines).toContainEqual('[lockstep] SIGINT again: stopping now. What is in flight is cut off; the next run checks the registry before it uploads.');
    expect(lines).not.toContainEqual(expect.stringMatching(/grace .* is over/));
    expect(tableTotals(stopped.output)).toHaveLength(1);
    expect(lines).toContainEqual(expect.stringMatching(/^\[lockstep\] Stopped by SIGINT: .*Exit code 130\.$/));
    await waitFor(() => pws.livingProcesses().length === 0, 30_000, () => `no process left in the workspace: ${JSON.stringify(pws.livingProcesses())}`);
    expect(pws.readJournal().run?.status).toBe('running');
    await expectResumedWithoutDuplicates(pws, args, `${mode}, SIGINT twice`);
  });
});

describe('per task, every run ends with a report', () => {
  it('a package that fails (EVERSIONEXISTS): the table is printed and the summary file written once, the journal says failed with the dependents Nx did not run blocked, and the next run does not resume it', async () => {
    const pws = await workspace('stop-failed');
    expectSuccess(await pws.publish(['--batch']), 'the first release (1.0.0)');
    // utils changes but keeps 1.0.0; everything else moves to 1.0.1.
    pws.setVersion('1.0.1', pws.shorts.filter((s) => s !== 'utils'));
    fs.writeFileSync(pws.ws.path('packages/utils/lib/index.js'), "exports.utils = 'utils, changed without a version bump';\n");
    pws.commit('change utils without bumping it');

    const result = await pws.publish([`--summaryFile=${SUMMARY}`]);
    show('per task, EVERSIONEXISTS', result);
    expectFailure(result, 'nx run-many -t publish over a changed 1.0.0');
    expect(result.output).toMatch(new RegExp(`${pws.name('utils')}@1\\.0\\.0 failed: \\[EVERSIONEXISTS\\]`));
    // Nx ran utils (failed), config (published) and no dependent of utils; the last task of the run reports it, once.
    expect(summaryCounts(result.output)).toEqual([{ published: 1, skipped: 0, failed: 1, blocked: 4 }]);
    const summary = JSON.parse(fs.readFileSync(pws.ws.path(SUMMARY), 'utf8'));
    expect(summary).toMatchObject({ ok: false, counts: { published: 1, skipped: 0, failed: 1, blocked: 4, pending: 0 } });
    expect(Object.fromEntries(summary.packages.map((p: { name: string; status: string }) => [p.name, p.status]))).toEqual({
      [pws.name('utils')]: 'failed',
      [pws.name('config')]: 'published',
      [pws.name('core')]: 'blocked',
      [pws.name('internal')]: 'blocked',
      [pws.name('ui')]: 'blocked',
      [pws.name('cli')]: 'blocked',
    });
    const journal = pws.readJournal();
    expect(journal.run).toMatchObject({ status: 'failed', sha: pws.head() });
    for (const short of ['core', 'internal', 'ui', 'cli']) {
      expect(journal.records[pws.name(short)]).toMatchObject({ status: 'blocked', error: { code: 'EBLOCKED', message: expect.stringContaining(`blocked by ${pws.name('utils')}`) } });
    }

    // A finished (failed) run is history: the next run starts anew instead of resuming it.
    const next = await pws.publish();
    show('per task, after the failed run', next);
    expect(next.output).not.toMatch(/Resuming the unfinished run/);
    expect(summaryCounts(next.output)).toEqual([{ published: 0, skipped: 1, failed: 1, blocked: 4 }]);
  });

  it('a resumed run reports its own times: the total and every row are within the re-run\'s own wall time, not counted from the interrupted run', async () => {
    const pws = await workspace('stop-resume-times');
    // Interrupt a per-task run once a package is published (SIGKILL of nx and its tasks): the resume keeps its record.
    reg.proxy.setOptions({ latencyMs: 100 });
    try {
      const run = pws.spawnPublish();
      const published = () => Object.values(pws.readJournal().records).some((r) => r.status === 'published');
      await waitFor(() => published() || run.child.exitCode !== null, 120_000, 'a package of the run recorded published in the journal');
      run.killGroup();
      await run.done;
      await waitFor(() => pws.livingProcesses().length === 0, 30_000, () => `no process left in the workspace: ${JSON.stringify(pws.livingProcesses())}`);
    } finally {
      reg.proxy.setOptions({ latencyMs: 0 });
    }
    const interrupted = pws.readJournal();
    expect(interrupted.run?.status).toBe('running');
    expect(Object.values(interrupted.records).some((r) => r.status === 'published' && r.startedAt !== undefined)).toBe(true);
    // The interrupted run started an hour ago: move every time of its journal back by an hour.
    const hour = 3_600_000;
    const back = (iso: unknown) => (typeof iso === 'string' ? new Date(Date.parse(iso) - hour).toISOString() : iso);
    for (const rel of Object.keys(pws.journalFiles())) {
      if (rel !== 'run.json' && !/^packages\/[^/]+\.json$/.test(rel)) continue;
      const file = path.join(pws.journalDir(), rel);
      const record = JSON.parse(fs.readFileSync(file, 'utf8'));
      for (const field of ['startedAt', 'updatedAt']) if (field in record) record[field] = back(record[field]);
      fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    }

    const rerun = await pws.publish([`--summaryFile=${SUMMARY}`]);
    show('per task, resumed', rerun);
    expectSuccess(rerun, 'the re-run after the interruption');
    expect(rerun.output).toMatch(/Resuming the unfinished run /);
    expectEveryVersionOnce(pws, pws.uploads());
    // Compared with the re-run's own wall time, as this test measured it (nx's start to its exit), with a second of margin for rounding.
    const wallMs = rerun.durationMs!;
    const totals = tableTotals(rerun.output);
    expect(totals).toHaveLength(1);
    expect({ printedMs: totals[0].seconds * 1000, withinWall: totals[0].seconds * 1000 <= wallMs + 1000 }).toEqual({ printedMs: totals[0].seconds * 1000, withinWall: true });
    const summary = JSON.parse(fs.readFileSync(pws.ws.path(SUMMARY), 'utf8'));
    expect(summary.durationMs).toBeLessThanOrEqual(wallMs + 1000);
    for (const p of summary.packages as Array<{ name: string; status: string; durationMs: number }>) {
      expect({ name: p.name, status: p.status, withinWall: p.durationMs <= wallMs + 1000 }).toEqual({ name: p.name, status: p.status, withinWall: true });
    }
  });
});
