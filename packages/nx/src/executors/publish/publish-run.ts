import { mkdirSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ErrorCodes,
  LockstepError,
  PreflightProblem,
  PublishSummary,
  RegistryPort,
  ReleasePackage,
  currentBranch,
  currentSha,
  formatSummary,
  preflightError,
  preflightRun,
  repositoryIdentity,
  resolveGroupName,
  runPublish,
  systemProcessProbe,
  writeFileDurable,
} from '@lockstep/core';
import type { NormalizedPublishOptions } from './normalize-options';
import { applyVersionData, describeCycles, packageSettings, routedRegistry } from './package-options';
import { preflightOnce } from './preflight-record';
import { ReleaseHold, takeReleaseHold } from './release-hold';
import { JournalHandle, PublishServices } from './services';
import { ProjectInfo, scanWorkspacePackages } from './workspace-packages';

export interface PublishRunInput {
  workspaceRoot: string;
  /** Nx's cache directory: the journal lives under it. */
  cacheDir: string;
  targetName: string;
  projects: ProjectInfo[];
  /** Projects whose publish tasks make up this run (one Nx invocation). */
  runProjects: string[];
  /** Per-task mode: the project this process publishes. Absent: all of the run, scheduled here. */
  onlyProject?: string;
  options: NormalizedPublishOptions;
  /** Batch mode: each project's own task options (per-package ones apply to its package); absent: `options` for every package. */
  optionsByProject?: ReadonlyMap<string, NormalizedPublishOptions>;
  services: PublishServices;
  log: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/**
 * How long a task waits for another task of the run that is setting up the
 * journal, which includes the run's preflight (G6): packing checks of every
 * package and a few registry round trips, with retries when the registry
 * struggles. A holder that dies frees the lock at once.
 */
const JOURNAL_SETUP_TIMEOUT_MS = 30 * 60_000;

export interface PublishRunResult {
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
export async function publishRun(input: PublishRunInput): Promise<PublishRunResult> {
  const { options, log, services } = input;
  const required = new Set(input.runProjects);
  const workspace = scanWorkspacePackages(input.projects, input.workspaceRoot, required);
  const known: PreflightProblem[] = workspace.problems.map(({ subject, error }) => ({ subject, code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }));
  const optionsOf = (pkg: ReleasePackage) => (pkg.project !== undefined ? input.optionsByProject?.get(pkg.project) : undefined) ?? options;
  const runPackages: ReleasePackage[] = applyVersionData(
    input.runProjects.map((p) => workspace.byProject.get(p)).filter((p): p is ReleasePackage => p !== undefined),
    optionsOf,
  );
  const settings = packageSettings(runPackages, optionsOf);
  const releaseNames = new Set(runPackages.map((p) => p.name));
  const workspaceVersions = new Map([...workspace.versions].filter(([name]) => !releaseNames.has(name)));
  const onlyPackage = input.onlyProject ? workspace.byProject.get(input.onlyProject) : undefined;
  const only = onlyPackage ? new Set([onlyPackage.name]) : undefined;

  let stopping = false;
  let superseded: string | undefined;
  let lock: ReleaseHold | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    superseded = lock?.supersededBy();
    log(
      superseded
        ? `${signal}: this run was ${superseded} (cancelInProgress). Finishing the upload in flight; packages not started stay pending for the newer run.`
        : `${signal}: finishing the upload in flight; packages not started stay pending for the next run.`,
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

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
    new LockstepError(ErrorCodes.EINTERNAL, `Project ${input.onlyProject} has no package to publish, yet the run's checks passed.`, {
      hint: 'This is a bug in lockstep. Please report it with the command you ran and this output.',
    });

  try {
    if (options.dryRun) {
      await preflight(undefined, only);
      if (input.onlyProject && !onlyPackage) throw ownPackageMissing();
      const summary = await runPublish({
        packages: runPackages,
        only,
        workspaceVersions,
        pack,
        tag: options.tag,
        access: options.access,
        settings,
        cycles: options.cycles,
        maxConcurrency: options.maxConcurrency,
        verifyTimeoutMs: options.verifyTimeoutMs,
        log,
        redact: services.redact,
      });
      return finishRun(input, summary, true);
    }

    const runPid = Number(input.env.NX_INVOCATION_ROOT_PID) || process.pid;
    const runId = `${os.hostname()}:${runPid}:${systemProcessProbe.startTime(runPid) ?? '0'}`;
    lock = await takeReleaseLock(input, runPid, runId);
    const registry = await routedRegistry(services, options, runPackages, optionsOf);
    const sha = currentSha(input.workspaceRoot) ?? 'no-git';
    const journalDir = path.join(input.cacheDir, 'lockstep', 'publish', input.targetName);
    mkdirSync(journalDir, { recursive: true });
    const journal = await services.openJournal(journalDir, {
      runId,
      sha,
      target: input.targetName,
      registry: registry.registry,
      packages: runPackages.map((p) => ({ name: p.name, version: p.version })),
      resume: options.resume,
      lockTimeoutMs: JOURNAL_SETUP_TIMEOUT_MS,
      // Once per run, before the run exists for the other tasks to join (G6).
      beforeSetUp: () => preflightOnce(journalDir, runId, () => preflight(registry)),
    });
    if (input.onlyProject && !onlyPackage) throw ownPackageMissing();
    if (journal.resumedFrom) log(`Resuming the unfinished run ${journal.resumedFrom} of commit ${sha.slice(0, 12)}: published packages are confirmed against the registry and skipped.`);

    const summary = await runPublish({
      packages: runPackages,
      only,
      workspaceVersions,
      pack,
      registry,
      journal,
      tag: options.tag,
      access: options.access,
      otp: options.otp,
      settings,
      cycles: options.cycles,
      maxConcurrency: options.maxConcurrency,
      verifyTimeoutMs: options.verifyTimeoutMs,
      log,
      shouldStop: () => stopping || lock?.lost() !== undefined,
      redact: services.redact,
    });

    // Several tasks can see the run complete at once; exactly one claims it, finishes
    // the journal, releases the lock and reports, so the next run never races a finish.
    const complete = journal.isComplete() && (!only || claimCompletion(journalDir, runId));
    if (complete) {
      // The handle holds exactly the run's packages.
      await journal.finish(journal.all().every((r) => r.status === 'published' || r.status === 'skipped') ? 'done' : 'failed');
      await lock?.release();
      lock = undefined;
    }
    // The task that completes a per-task run reports the whole run, from the journal.
    const report = only && complete ? runSummaryFromJournal(summary, journal, runPackages) : summary;
    const result = await finishRun(input, report, complete || !only, journal.describeRun?.());
    // A hold lost before the run was complete: what was not started stays pending, and the run fails loudly.
    const lost = complete ? undefined : lock?.lost();
    if (lost) throw lost;
    if (superseded && !complete) {
      throw new LockstepError(ErrorCodes.ESUPERSEDED, `This run was ${superseded}; it stopped between packages, and what it had not started stays pending.`, {
        hint: 'Nothing is lost: the newer run (or the next run at this commit) resumes from the journal.',
      });
    }
    return result;
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    lock?.detach();
  }
}

function runSummaryFromJournal(own: PublishSummary, journal: JournalHandle, packages: ReleasePackage[]): PublishSummary {
  const projectOf = new Map(packages.map((p) => [p.name, p.project]));
  const records = journal.all().filter((r) => projectOf.has(r.name));
  const counts = { published: 0, skipped: 0, failed: 0, blocked: 0, pending: 0 };
  const results = records.map((r) => {
    const status = r.status;
    if (status in counts) counts[status as keyof typeof counts]++;
    else counts.pending++;
    const started = r.startedAt ? Date.parse(r.startedAt) : NaN;
    const updated = r.updatedAt ? Date.parse(r.updatedAt) : NaN;
    return {
      name: r.name,
      version: r.version,
      project: projectOf.get(r.name),
      level: r.level ?? 0,
      status,
      durationMs: Number.isFinite(started) && Number.isFinite(updated) ? updated - started : 0,
      integrity: r.integrity,
      note: r.skippedReason,
      error: r.error,
    };
  });
  const firstStart = Math.min(...records.map((r) => (r.startedAt ? Date.parse(r.startedAt) : Infinity)));
  return {
    ...own,
    ok: counts.failed === 0 && counts.blocked === 0 && counts.pending === 0,
    durationMs: Number.isFinite(firstStart) ? Date.now() - firstStart : own.durationMs,
    counts,
    packages: results.sort((a, b) => a.level - b.level || a.name.localeCompare(b.name)),
  };
}

function claimCompletion(journalDir: string, runId: string): boolean {
  try {
    writeFileSync(path.join(journalDir, `completed-${runId.replace(/[^\w.-]/g, '_')}`), new Date().toISOString(), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

async function takeReleaseLock(input: PublishRunInput, runPid: number, runId: string): Promise<ReleaseHold | undefined> {
  const { options, log } = input;
  if (options.lockPolicy === 'off') return undefined;
  const group = resolveGroupName(options.group.template, {
    branch: currentBranch(input.workspaceRoot, input.env),
    target: input.targetName,
    project: input.onlyProject ?? input.runProjects.join(','),
  }, input.env);
  const repoId = repositoryIdentity(input.workspaceRoot);
  const common = { group, repoId, runPid, runId, perTask: input.onlyProject !== undefined, workspaceRoot: input.workspaceRoot, options, command: `nx ${input.targetName} (${input.runProjects.length} projects)`, log };
  if (options.lockPolicy === 'warn') {
    try {
      return await takeReleaseHold({ ...common, waitTimeoutMs: 0 });
    } catch (error) {
      if (!(error instanceof LockstepError) || (error.code !== ErrorCodes.ELOCKTIMEOUT && error.code !== ErrorCodes.ELEASECONFLICT)) throw error;
      log(`!!! lockPolicy "warn": the release group '${group}' is held by another live run; going on WITHOUT the lock. Uploads of the two runs may interleave.`);
      return undefined;
    }
  }
  return takeReleaseHold({ ...common, waitTimeoutMs: options.group.waitTimeoutMs });
}

async function finishRun(input: PublishRunInput, summary: PublishSummary, printTable: boolean, run?: unknown): Promise<PublishRunResult> {
  const byProject = new Map<string, boolean>();
  for (const p of summary.packages) if (p.project) byProject.set(p.project, p.status === 'published' || p.status === 'skipped' || (summary.dryRun && p.status === 'pending'));
  if (printTable) input.log(`\n${formatSummary(summary)}`);
  // In per-task mode only the task that completes the run writes the file: it reports the whole run.
  if (input.options.summaryFile && printTable) {
    mkdirSync(path.dirname(input.options.summaryFile), { recursive: true });
    await writeFileDurable(input.options.summaryFile, `${JSON.stringify({ schema_version: 1, ...summary, ...(run ? { run } : {}) }, null, 2)}\n`);
  }
  return { summary, byProject };
}
