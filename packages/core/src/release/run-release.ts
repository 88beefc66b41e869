import { mkdirSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes } from '../errors';
import { ownPackageMissingError, supersededRunError } from './errors';
import { PreflightProblem, preflightError, preflightRun } from '../publish/preflight';
import { PublishSummary, RegistryPort, ReleasePackage } from '../publish/types';
import { currentBranch, currentSha, repositoryIdentity } from '../group/repository-identity';
import { formatSummary } from '../publish/format-summary';
import { countStatuses, endedBadly, endedWell } from '../publish/status';
import { planLevels } from '../schedule/plan-levels';
import { readJournal } from '../journal/read-journal';
import { journalLocation } from '../journal/location';
import { publishPackages } from '../publish/publish-packages';
import { systemProcessProbe } from '../lock/process-probe';
import { writeFileDurable } from '../atomic/write-durable';
import type { ReleaseOptions } from './options';
import { DEFAULT_TAG, applyVersionData, describeCycles, markOwnTargets, packageSettings, routedRegistry, withPublishConfig } from './package-options';
import { preflightOnce } from './preflight-record';
import { ReleaseLock, takeReleaseLock } from './release-lock';
import { RunMarkers } from './run-markers';
import { runSummaryFromRecords, unreachablePackages } from './run-report';
import { JournalHandle, ReleaseServices } from './services';
import { RunStop } from './stop';
import { ProjectInfo, scanWorkspacePackages } from '../manifest/workspace-packages';

export interface RunReleaseInput {
  workspaceRoot: string;
  /** Nx's cache directory: the journal lives under it. */
  cacheDir: string;
  targetName: string;
  projects: ProjectInfo[];
  /** Projects whose publish tasks make up this run (one Nx invocation). */
  runProjects: string[];
  /**
   * The projects this process publishes when it is a part of the run: one per
   * task in per-task mode, a batch's projects when Nx splits the run into
   * several batches. Absent: all of the run, scheduled here.
   */
  onlyProjects?: readonly string[];
  /** The run's root process when the environment does not name it (Nx gives batch workers no NX_INVOCATION_ROOT_PID). */
  runPid?: number;
  options: ReleaseOptions;
  /** Batch mode: each project's own task options (per-package ones apply to its package); absent: `options` for every package. */
  optionsByProject?: ReadonlyMap<string, ReleaseOptions>;
  services: ReleaseServices;
  log: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** The process's stop (signals, grace, abort); absent: runRelease listens itself for as long as it runs. */
  stop?: RunStop;
  /**
   * Per task: each run project's dependencies as Nx orders their tasks
   * (runDependenciesOf); Nx runs no task whose dependency failed. Absent:
   * the packages' own in-run dependencies.
   */
  runDependencies?: ReadonlyMap<string, readonly string[]>;
}

/**
 * How long a task waits for another task of the run that is setting up the
 * journal, which includes the run's preflight (G6): packing checks of every
 * package and a few registry round trips, with retries when the registry
 * struggles. A holder that dies frees the lock at once.
 */
const JOURNAL_SETUP_TIMEOUT_MS = 30 * 60_000;

export interface RunReleaseResult {
  summary: PublishSummary;
  /** By project name: did this project's package end well? */
  byProject: Map<string, boolean>;
}

/**
 * One publish run, per-task or batch: read the packages, take (or join) the
 * release lock, validate the whole run (G6: once per run, in the task that
 * sets up the journal, before anything is uploaded), open (or resume) the
 * journal, publish, and when the whole run is complete, close the journal
 * and release the lock.
 */
export async function runRelease(input: RunReleaseInput): Promise<RunReleaseResult> {
  const { options, log, services } = input;
  const required = new Set(input.runProjects);
  const workspace = scanWorkspacePackages(input.projects, input.workspaceRoot, required);
  const known: PreflightProblem[] = workspace.problems.map(({ subject, error }) => ({ subject, code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }));
  // Each package's own options: its task's (batch mode), then its publishConfig where the user set nothing.
  const optionsOf = withPublishConfig((pkg: ReleasePackage) => (pkg.project !== undefined ? input.optionsByProject?.get(pkg.project) : undefined) ?? options);
  const runPackages: ReleasePackage[] = applyVersionData(
    input.runProjects.map((p) => workspace.byProject.get(p)).filter((p): p is ReleasePackage => p !== undefined),
    optionsOf,
  );
  const settings = packageSettings(runPackages, optionsOf);
  // The table and summary file say which packages went to another tag or registry than the run's.
  const marked = (summary: PublishSummary) => markOwnTargets(summary, runPackages, optionsOf, options);
  const releaseNames = new Set(runPackages.map((p) => p.name));
  const workspaceVersions = new Map([...workspace.versions].filter(([name]) => !releaseNames.has(name)));
  const onlyPackages = input.onlyProjects?.map((project) => workspace.byProject.get(project));
  const missingOwn = input.onlyProjects?.filter((_, i) => onlyPackages![i] === undefined) ?? [];
  const only = onlyPackages ? new Set(onlyPackages.filter((p): p is ReleasePackage => p !== undefined).map((p) => p.name)) : undefined;

  let lock: ReleaseLock | undefined;
  // SIGINT/SIGTERM: start nothing more, cut off what is in flight after the grace (stop.ts).
  const stop = input.stop ?? new RunStop({ env: input.env, log });
  stop.describe = () => lock?.supersededBy();
  let markers: RunMarkers | undefined;
  let reported = false;

  const pack = (pkg: ReleasePackage, releaseVersions: Map<string, string>) => services.pack(pkg, releaseVersions, workspaceVersions);

  /**
   * G6: every problem of the run's input at once, before the first upload.
   * `packOnly` limits the file checks (a per-task dry run lists its own
   * package's files: every task would otherwise list the whole run); every
   * manifest and spec of the run is checked all the same.
   */
  const preflight = async (registry: RegistryPort | undefined, packOnly?: ReadonlySet<string>) => {
    const report = await preflightRun({
      packages: runPackages,
      known,
      workspaceVersions,
      checkPack: (pkg, releaseVersions, scope) => services.checkPack(pkg, releaseVersions, workspaceVersions, scope),
      packOnly,
      access: options.access,
      accessOf: (pkg) => optionsOf(pkg).access,
      tagOf: (pkg) => optionsOf(pkg).tag,
      cycles: options.cycles,
      registry,
      redact: services.redact,
    });
    const error = preflightError(report.problems);
    if (error) throw error;
    const cycles = describeCycles(runPackages, options.cycles);
    if (cycles) log(cycles);
    log(
      `Checked the run before the first upload: ${runPackages.length} package${runPackages.length === 1 ? '' : 's'} (manifests, internal specs, cycles, ` +
        `files of ${report.packChecked}${report.remote ? ', registry and credentials' : ''}) in ${Math.round(report.durationMs)} ms.`,
    );
  };
  // A task whose own project has no readable package never gets here (its problem fails the preflight); never publish "everything" for it.
  const ownPackageMissing = () =>
    ownPackageMissingError(missingOwn);

  try {
    if (options.dryRun) {
      await preflight(undefined, only);
      if (missingOwn.length > 0) throw ownPackageMissing();
      const summary = await publishPackages({
        packages: runPackages,
        only,
        workspaceVersions,
        pack,
        tag: options.tag ?? DEFAULT_TAG,
        access: options.access,
        settings,
        cycles: options.cycles,
        maxConcurrency: options.maxConcurrency,
        verifyTimeoutMs: options.verifyTimeoutMs,
        stage: options.stage,
        log,
        shouldStop: () => stop.stopping,
        redact: services.redact,
      });
      return finishRun(input, marked(summary), true, stop);
    }

    const runPid = Number(input.env.NX_INVOCATION_ROOT_PID) || input.runPid || process.pid;
    const runId = `${os.hostname()}:${runPid}:${systemProcessProbe.startTime(runPid) ?? '0'}`;
    const journalDir = journalLocation(input.cacheDir, input.targetName);
    mkdirSync(journalDir, { recursive: true });
    if (only) {
      // The tasks of a per-task run tell each other what only one of them should do (run-markers.ts).
      markers = new RunMarkers(journalDir, runId);
      markers.sweep();
      markers.enter();
    }
    // Per task: git is asked once per run (branch, repository identity, commit), not three times by every task.
    const ask = (name: string, compute: () => string | undefined) => (markers ? markers.shared(name, compute) : compute());
    const repository = {
      branch: () => ask('git-branch', () => currentBranch(input.workspaceRoot, input.env))!,
      identity: () => ask('git-repository', () => repositoryIdentity(input.workspaceRoot))!,
    };
    lock = await takeReleaseLock({ ...input, runPid, runId, repository, log: onePerRun(markers, log) });
    const registry = await routedRegistry(services, options, runPackages, optionsOf);
    const sha = ask('git-sha', () => currentSha(input.workspaceRoot)) ?? 'no-git';
    const opened = await services.openJournal(journalDir, {
      runId,
      sha,
      target: input.targetName,
      registry: registry.registry,
      packages: runPackages.map((p) => ({ name: p.name, version: p.version })),
      resume: options.resume,
      lockTimeoutMs: JOURNAL_SETUP_TIMEOUT_MS,
      // Per task every task joins: not by reading every record.
      lazyJoin: only !== undefined,
      // Once per run, before the run exists for the other tasks to join (G6).
      beforeSetUp: () => preflightOnce(journalDir, runId, () => preflight(registry)),
    });
    const journal = markers ? flagBadEnds(opened, markers) : opened;
    if (missingOwn.length > 0) throw ownPackageMissing();
    if (journal.resumedFrom) log(`Resuming the unfinished run ${journal.resumedFrom} of commit ${sha.slice(0, 12)}: published packages are confirmed against the registry and skipped.`);

    const summary = await publishPackages({
      packages: runPackages,
      only,
      workspaceVersions,
      pack,
      registry,
      journal,
      tag: options.tag ?? DEFAULT_TAG,
      access: options.access,
      otp: options.otp,
      settings,
      cycles: options.cycles,
      maxConcurrency: options.maxConcurrency,
      verifyTimeoutMs: options.verifyTimeoutMs,
      stage: options.stage,
      log,
      shouldStop: () => stop.stopping || lock?.lost() !== undefined,
      signal: stop.abort,
      redact: services.redact,
    });

    // Per task, Nx runs no dependent of a failed task: once nothing else can run, the
    // packages that never will are blocked, so the run completes (failed) and reports.
    // Only a run with a failed or blocked record has any (the marker comes before such a record): no other task reads the whole journal for them.
    if (only && !stop.stopping && markers?.has(ENDED_BADLY) && !journal.isComplete()) await blockUnreachable(journal, summary, runPackages, input.runDependencies);
    // Several tasks can see the run complete at once; exactly one claims it, finishes
    // the journal, releases the lock and reports, so the next run never races a finish.
    // A resumed run: a record an earlier run settled is final from the start, but its task (which confirms it
    // and records it anew) may still be to come; the run is complete once no such task can still run.
    const complete = journal.isComplete() && (!only || !keptStillToRun(journal, runPackages, input.runDependencies)) && (!markers || markers.claim('completed'));
    if (complete) {
      // The handle holds exactly the run's packages.
      await journal.finish(journal.all().every((r) => endedWell(r.status)) ? 'done' : 'failed');
      await lock?.release();
      lock = undefined;
    }
    // The task that completes a per-task run reports the whole run, from the journal, timed from this run's start.
    const report = only && complete ? runSummaryFromRecords(summary, journal.all(), runPackages, journal.startedAt) : summary;
    reported = complete || !only;
    if (reported) markers?.claim('reported');
    const result = await finishRun(input, marked(report), reported, stop, journal.describeRun?.());
    // A release lock lost before the run was complete: what was not started stays pending, and the run fails loudly.
    const lost = complete ? undefined : lock?.lost();
    if (lost) throw lost;
    if (stop.reason && !complete) {
      throw supersededRunError(stop.reason);
    }
    return result;
  } finally {
    if (!input.stop) stop.dispose();
    lock?.detach();
    if (markers) {
      markers.leave();
      // A stopped per-task run: the last of its tasks to end reports it, once.
      if (stop.stopping && !reported && !markers.othersActive() && markers.claim('reported')) {
        await reportStoppedRun(input, markers, runPackages, stop).catch((error) => log(`Could not report the stopped run: ${services.redact(String((error as Error)?.message ?? error))}`));
      }
    }
  }
}

/** The run's levels (names by level), as publishPackages plans them; [] if they cannot be planned. */
function planOf(packages: ReleasePackage[]): string[][] {
  try {
    return planLevels(packages.map((p) => ({ name: p.name, deps: p.internalDeps, edges: p.depReasons })), { cycles: 'allow' }).byLevel;
  } catch {
    return [];
  }
}

/** Per task: the run marker that says a record of the run ended badly (failed or blocked). */
const ENDED_BADLY = 'ended-badly';

/**
 * Per task: the journal handle, but each move to failed or blocked sets the
 * run's ENDED_BADLY marker first, so a task that finds no marker knows no
 * record of the run ended badly without reading them all.
 */
function flagBadEnds(journal: JournalHandle, markers: RunMarkers): JournalHandle {
  const flagged: JournalHandle = Object.create(journal);
  flagged.transition = (name, status, patch) => {
    if (endedBadly(status)) markers.flag(ENDED_BADLY);
    return journal.transition(name, status, patch);
  };
  return flagged;
}

/** Per task: only the task that claimed the run's `waiting` marker prints its "Waiting for …" lines. */
function onePerRun(markers: RunMarkers | undefined, log: (line: string) => void): (line: string) => void {
  if (!markers) return log;
  return (line) => {
    if (!line.startsWith('Waiting for ') || markers.claim('waiting')) log(line);
  };
}

/**
 * Per task: when no package of the run can still be published by a task Nx
 * will run (the rest depend on a failed or blocked package), records those
 * as blocked, which completes the run.
 */
async function blockUnreachable(
  journal: Pick<JournalHandle, 'all' | 'transition'>,
  summary: PublishSummary,
  packages: ReleasePackage[],
  runDependencies: ReadonlyMap<string, readonly string[]> | undefined,
): Promise<void> {
  const unreachable = unreachablePackages(journal.all(), runDepsOf(packages, runDependencies));
  if (!unreachable) return;
  const levelOf = new Map<string, number>();
  summary.levels.forEach((names, i) => names.forEach((name) => levelOf.set(name, i)));
  for (const { name, cause } of unreachable) {
    await journal.transition(name, 'blocked', {
      ...(levelOf.has(name) ? { level: levelOf.get(name) } : {}),
      error: { code: ErrorCodes.EBLOCKED, message: `blocked by ${cause}: Nx does not run a task whose dependency failed` },
    });
  }
}

/**
 * Per task, a run whose every record is final: is a task still to come that
 * will move a record? A resume keeps the records an earlier run settled
 * (another run id); the task of each confirms and records it anew, unless Nx
 * will not run it (a dependency failed). Reads every record: asked only
 * once the run looks complete.
 */
function keptStillToRun(journal: Pick<JournalHandle, 'all' | 'runId'>, packages: ReleasePackage[], runDependencies: ReadonlyMap<string, readonly string[]> | undefined): boolean {
  if (journal.runId === undefined) return false;
  const records = journal.all();
  const kept = records.filter((r) => endedWell(r.status) && r.runId !== journal.runId);
  if (kept.length === 0) return false;
  // Taken as open, they are all unreachable (their tasks will never run) or some task is still to come.
  const open = new Set(kept.map((r) => r.name));
  return unreachablePackages(records.map((r) => (open.has(r.name) ? { ...r, status: 'pending' as const } : r)), runDepsOf(packages, runDependencies)) === undefined;
}

/** Each package's in-run dependencies as Nx orders the tasks (runDependencies), else from its manifest. */
function runDepsOf(packages: ReleasePackage[], runDependencies: ReadonlyMap<string, readonly string[]> | undefined): Map<string, readonly string[]> {
  const nameOf = new Map(packages.map((p) => [p.project, p.name]));
  return new Map<string, readonly string[]>(
    packages.map((p) => {
      const nx = p.project !== undefined ? runDependencies?.get(p.project) : undefined;
      return [p.name, nx ? nx.map((project) => nameOf.get(project)).filter((n): n is string => n !== undefined) : p.internalDeps];
    }),
  );
}

/**
 * Per task, the report of a stopped run: its table (from the journal, if the
 * run got that far), the summary file and the stop line.
 */
async function reportStoppedRun(input: RunReleaseInput, markers: RunMarkers, packages: ReleasePackage[], stop: RunStop): Promise<void> {
  const snapshot = await readJournal(markers.journalDir);
  if (!snapshot || snapshot.run.runId !== markers.runId) {
    input.log(`Stopped by ${stop.signal} before the run had started: nothing was published. Exit code ${stop.exitCode}.`);
    return;
  }
  const base: PublishSummary = {
    ok: false,
    dryRun: false,
    registry: snapshot.run.registry,
    tag: input.options.tag ?? DEFAULT_TAG,
    durationMs: 0,
    levels: planOf(packages),
    counts: countStatuses([]),
    packages: [],
  };
  const summary = runSummaryFromRecords(base, snapshot.packages, packages, snapshot.run.startedAt, Date.now(), 'not started (stopped)');
  await finishRun(input, summary, true, stop, { runId: snapshot.run.runId, sha: snapshot.run.sha, journal: snapshot.dir });
}

async function finishRun(input: RunReleaseInput, summary: PublishSummary, printTable: boolean, stop: RunStop, run?: unknown): Promise<RunReleaseResult> {
  const byProject = new Map<string, boolean>();
  for (const p of summary.packages) if (p.project) byProject.set(p.project, endedWell(p.status, summary.dryRun));
  if (printTable) input.log(`\n${formatSummary(summary)}`);
  // A stopped run says so, and with which exit code (Nx itself reports any stop as 130).
  const stopped = stop.signal ? { signal: stop.signal, exitCode: stop.exitCode } : undefined;
  if (printTable && stopped) input.log(stop.summaryLine(summary.counts));
  // In per-task mode only the task that completes (or reports) the run writes the file: it reports the whole run.
  if (input.options.summaryFile && printTable) {
    mkdirSync(path.dirname(input.options.summaryFile), { recursive: true });
    await writeFileDurable(input.options.summaryFile, `${JSON.stringify({ schema_version: 1, ...summary, ...(stopped ? { stopped } : {}), ...(run ? { run } : {}) }, null, 2)}\n`);
  }
  return { summary, byProject };
}
