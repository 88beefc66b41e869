import PQueue from 'p-queue';
import { performance } from 'perf_hooks';
import { ErrorCodes, LockstepError, toLockstepError } from '../errors';
import { Plan, planLevels } from '../schedule/plan-levels';
import { sleep } from '../util/sleep';
import { RunResult, Slot, runScheduled } from '../schedule/run-scheduled';
import { endedWell, isFinal, summarizeRows } from './status';
import { expectedVersionMissingError, outOfRunDependencyMissingError, versionExistsError } from './errors';
import { JournalPort, PackageResult, PackageSettings, PackageStatus, PackedPackage, PublishSummary, RegistryPort, ReleasePackage } from './types';

export interface PublishPackagesOptions {
  /** Every package of the run: the plan, the versions internal specs become. */
  packages: ReleasePackage[];
  /**
   * Per-task mode: the packages this process publishes. Their in-run
   * dependencies are published by other tasks of the run and are only
   * confirmed here (journal + registry). Default: all, scheduled here.
   */
  only?: ReadonlySet<string>;
  /** Versions of workspace packages that are not in this run. */
  workspaceVersions: Map<string, string>;
  pack(pkg: ReleasePackage, releaseVersions: Map<string, string>): Promise<PackedPackage>;
  /** Absent in a dry run: nothing remote is touched. */
  registry?: RegistryPort;
  journal?: JournalPort;
  tag: string;
  access?: string;
  otp?: string;
  /** By package name: its own tag, access and OTP where they differ from the run's (batch mode: each task's options). */
  settings?: ReadonlyMap<string, PackageSettings>;
  /** `allow` (default): the members of a cycle are published without an order among them; `error`: ECYCLE. */
  cycles?: 'allow' | 'error';
  maxConcurrency: number;
  verifyTimeoutMs: number;
  log: (line: string) => void;
  /** True stops starting packages (SIGTERM): no package starts, none that has not begun its upload begins it; the rest stay pending. */
  shouldStop?: () => boolean;
  /**
   * Aborts what is in flight (a stop's deadline, a second signal): the
   * registry requests reject at once, and a package cut off this way stays
   * pending in the summary, never failed, and blocks nothing. Its journal
   * record stays where it was (publishing, verifying): the next run asks the
   * registry whether its upload landed.
   */
  signal?: AbortSignal;
  /** Removes secrets from text before it is shown or stored. */
  redact: (text: string) => string;
  /**
   * A staged run: every package is staged (registry.stage) instead of
   * published, all at once (no version goes public, so dependency order does
   * not matter); the journal records each stage id. A version already live
   * is skipped, one this run staged already (journal: staged, same integrity)
   * is not staged again.
   */
  stage?: boolean;
}

/** Registry reads in flight for the pre-check of a batch run. */
const PRECHECK_CONCURRENCY = 16;
/** How long a package ready to upload waits for its batch pre-check before it reads the registry itself (a normal read takes ~0.1 s). */
const PRECHECK_PATIENCE_MS = 300;
const LATE: unique symbol = Symbol('late');

/** The first answer of a pre-check ('unknown' when it failed) and a package's own read; rejects only when neither answers. */
function firstAnswer<T>(precheck: Promise<T | 'unknown'>, own: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let misses = 0;
    let ownError: unknown;
    const miss = () => {
      if (++misses === 2) reject(ownError);
    };
    precheck.then((answer) => (answer === 'unknown' ? miss() : resolve(answer)));
    own.then(resolve, (error) => {
      ownError = error;
      miss();
    });
  });
}

/**
 * Publishes packages dependencies first, in parallel where the graph allows:
 * pack → (already there? skip : upload) → wait until visible with the local
 * integrity → dependents may start. A failure blocks its dependents only.
 */
export async function publishPackages(options: PublishPackagesOptions): Promise<PublishSummary> {
  const started = performance.now();
  const byName = new Map(options.packages.map((p) => [p.name, p]));
  const fullPlan = planLevels(
    options.packages.map((p) => ({ name: p.name, deps: p.internalDeps, edges: p.depReasons })),
    { cycles: options.cycles ?? 'allow' },
  );
  const settingsOf = (pkg: ReleasePackage): PackageSettings => options.settings?.get(pkg.name) ?? { tag: options.tag, access: options.access, otp: options.otp };
  const releaseVersions = new Map(options.packages.map((p) => [p.name, p.version]));
  const dryRun = options.registry === undefined;
  const results = new Map<string, PackageResult>();
  const integrities = new Map<string, string>();

  const only = options.only;
  const local = only ? [...only].filter((n) => byName.has(n)) : options.packages.map((p) => p.name);
  const confirmOnly = new Set<string>();
  if (only && !options.stage) for (const name of local) for (const dep of fullPlan.deps.get(name) ?? []) if (!only.has(dep)) confirmOnly.add(dep);
  const plan: Plan = options.stage
    ? planLevels(local.map((n) => ({ name: n, deps: [] })))
    : only ? planLevels([...local, ...confirmOnly].map((n) => ({ name: n, deps: (fullPlan.deps.get(n) ?? []).filter((d) => local.includes(d) || confirmOnly.has(d)) }))) : fullPlan;

  if (!only || local.length > 1) describePlan(fullPlan, options.log);
  const level = (name: string) => fullPlan.levels.get(name) ?? 0;
  const say = (name: string, text: string) => options.log(`[L${level(name)}] ${name}@${byName.get(name)!.version} ${text}`);

  const record = async (name: string, status: PackageStatus, patch: Parameters<JournalPort['transition']>[2] = {}) => {
    if (!dryRun) await options.journal?.transition(name, status, { level: level(name), ...patch });
  };

  const finish = (pkg: ReleasePackage, status: PackageStatus, t0: number, extra: Partial<PackageResult> = {}): boolean => {
    results.set(pkg.name, {
      name: pkg.name,
      version: pkg.version,
      project: pkg.project,
      level: level(pkg.name),
      status,
      durationMs: performance.now() - t0,
      integrity: integrities.get(pkg.name),
      ...extra,
    });
    return endedWell(status, dryRun);
  };

  /** Packages a stop cut off or kept from their upload: pending, and their dependents are not blocked but not started. */
  const stopped = new Set<string>();
  const stop = (pkg: ReleasePackage, t0: number, note: string): boolean => {
    stopped.add(pkg.name);
    say(pkg.name, `stopped: ${note}`);
    finish(pkg, 'pending', t0, { note: `stopped: ${note}` });
    return false;
  };
  const cutOff = 'cut off in flight; the next run checks the registry before it uploads';

  const fail = async (pkg: ReleasePackage, t0: number, error: unknown): Promise<boolean> => {
    if (options.signal?.aborted) return stop(pkg, t0, cutOff);
    const e = toLockstepError(error);
    const message = options.redact(e.message);
    const hint = e.hint ? options.redact(e.hint) : undefined;
    say(pkg.name, `failed: [${e.code}] ${message}${hint ? `\n    Hint: ${hint}` : ''}`);
    try {
      await record(pkg.name, 'failed', { error: { code: e.code, message } });
    } catch (journalError) {
      options.log(`Could not record the failure of ${pkg.name} in the journal: ${options.redact(toLockstepError(journalError).message)}`);
    }
    return finish(pkg, 'failed', t0, { error: { code: e.code, message, hint } });
  };

  /**
   * A dependency published by another task of this run: confirm it before a
   * dependent uploads (G1). Nx may run the two tasks side by side when it sees
   * no edge between them (a link: spec, say), so wait for the dependency's
   * record to settle rather than judging it from a snapshot.
   */
  const confirmDependency = async (pkg: ReleasePackage): Promise<boolean> => {
    const t0 = performance.now();
    try {
      return await confirmFromJournal(pkg, t0);
    } catch (error) {
      // The journal could not be read (a corrupt record, say): that error, not "not published", is why its dependents wait in vain.
      if (options.signal?.aborted) return stop(pkg, t0, 'confirmation cut off');
      const e = toLockstepError(error);
      const why = { code: e.code, message: options.redact(e.message), ...(e.hint ? { hint: options.redact(e.hint) } : {}) };
      unconfirmed.set(pkg.name, why);
      options.log(`Could not confirm ${pkg.name}@${pkg.version}: [${why.code}] ${why.message}${why.hint ? `\n    Hint: ${why.hint}` : ''}`);
      return finish(pkg, 'failed', t0, { error: why });
    }
  };
  /** Errors that kept an in-run dependency from being confirmed, by its name: its dependents are blocked with it. */
  const unconfirmed = new Map<string, NonNullable<PackageResult['error']>>();

  const settledByThisRun = (entry: NonNullable<ReturnType<JournalPort['get']>>): boolean =>
    options.journal?.runId !== undefined && entry.runId === options.journal.runId && (entry.status === 'published' || entry.status === 'skipped') && entry.integrity !== undefined;

  const confirmFromJournal = async (pkg: ReleasePackage, t0: number): Promise<boolean> => {
    if (pkg.private) return finish(pkg, 'skipped', t0, { note: 'private' });
    if (dryRun) return finish(pkg, 'pending', t0, { note: 'dry run: published by its own task' });
    let entry = options.journal?.get(pkg.name);
    let told = false;
    while (entry && !isFinal(entry.status)) {
      if (options.shouldStop?.()) return stop(pkg, t0, `not confirmed (${entry.status})`);
      if (performance.now() - t0 > options.verifyTimeoutMs) break;
      if (!told) {
        told = true;
        options.log(`Waiting for ${pkg.name}@${pkg.version} (${entry.status}), which Nx did not run before this task: declare the dependency with workspace: (or dependsOn) so Nx orders them.`);
      }
      await sleep(250);
      entry = options.journal?.get(pkg.name);
    }
    if (!entry || !endedWell(entry.status) || !entry.integrity) {
      return finish(pkg, 'blocked', t0, { note: `not published by this run (${entry?.status ?? 'no record'})` });
    }
    integrities.set(pkg.name, entry.integrity);
    // Settled by this run (the record carries its run id): its own task saw the version on the registry with this
    // integrity (published after the verification read; skipped after a read that found it). Asking again proves
    // nothing more. A record a resume kept from an earlier run, another run's, or an older journal's is asked about.
    if (settledByThisRun(entry)) return finish(pkg, entry.status, t0, { note: "confirmed by this run's journal" });
    if (options.registry) {
      try {
        await options.registry.waitUntilVisible(pkg.name, pkg.version, entry.integrity, { timeoutMs: options.verifyTimeoutMs });
      } catch (error) {
        if (options.signal?.aborted) return stop(pkg, t0, 'confirmation cut off');
        return finish(pkg, 'blocked', t0, { note: options.redact(toLockstepError(error).message) });
      }
    }
    return finish(pkg, entry.status, t0, { note: 'confirmed on the registry' });
  };

  /**
   * A workspace package outside this run that a package depends on becomes
   * its current version in the manifest: that version must be installable,
   * or the release would ship a package nobody can install.
   */
  const checkOutOfRunDeps = async (pkg: ReleasePackage): Promise<void> => {
    for (const dep of pkg.internalDeps) {
      const version = byName.has(dep) ? undefined : options.workspaceVersions.get(dep);
      if (version === undefined) continue;
      if (!(await options.registry!.getPublished(dep, version))) {
        throw outOfRunDependencyMissingError(pkg, dep, version, options.registry!.registry);
      }
    }
  };

  // Every package this call publishes is asked about up front (bounded), outside the publish
  // slots: whether a version exists does not depend on its dependencies. Per task that is the
  // task's own package, whose read then overlaps its dependencies' confirmation and its packing.
  // A version that appears after its pre-check is still settled by the upload conflict rule.
  const prechecks = new Map<string, Promise<Awaited<ReturnType<RegistryPort['getPublished']>> | 'unknown'>>();
  const answered = new Set<string>();
  // Every read of a run goes through this queue: at most PRECHECK_CONCURRENCY in flight, however many packages wait.
  const reads = new PQueue({ concurrency: PRECHECK_CONCURRENCY });
  if (options.registry) {
    const registry = options.registry;
    const order = fullPlan.byLevel.flat().filter((n) => !byName.get(n)!.private && !confirmOnly.has(n) && (!only || only.has(n)));
    for (const name of order) {
      const pkg = byName.get(name)!;
      const read = reads.add(() => registry.getPublished(pkg.name, pkg.version).catch(() => 'unknown' as const));
      prechecks.set(name, read.finally(() => answered.add(name)));
    }
  }
  const lookUp = async (pkg: ReleasePackage, slot?: Slot) => {
    const registry = options.registry!;
    const early = prechecks.get(pkg.name);
    if (!early) return registry.getPublished(pkg.name, pkg.version);
    // A package's own read, ahead of the pre-checks still queued (its pre-check may be waiting out a Retry-After).
    const ownRead = () => reads.add(() => registry.getPublished(pkg.name, pkg.version), { priority: 1 });
    if (answered.has(pkg.name)) {
      const answer = await early;
      return answer !== 'unknown' ? answer : ownRead();
    }
    // Its pre-check is still queued, in flight or waiting out a Retry-After: the slot serves another package meanwhile,
    // and after a normal read's time the package asks the registry itself; the first answer wins.
    slot?.release();
    try {
      const soon = await Promise.race([early, sleep(PRECHECK_PATIENCE_MS).then((): typeof LATE => LATE)]);
      if (soon === LATE) return await firstAnswer(early, ownRead());
      return soon !== 'unknown' ? soon : await ownRead();
    } finally {
      await slot?.acquire();
    }
  };

  const publishOne = async (pkg: ReleasePackage, slot?: Slot): Promise<RunResult> => {
    const t0 = performance.now();
    try {
      if (pkg.private) {
        say(pkg.name, 'skipped: private');
        await record(pkg.name, 'skipped', { skippedReason: 'private' });
        return finish(pkg, 'skipped', t0, { note: 'private' });
      }
      if (pkg.expectPublished !== undefined) return await confirmExpected(pkg, t0);
      // A staged run resumed: a version this run staged keeps its record (and stage id) unless its content changed.
      const prior = options.stage && !dryRun ? options.journal?.get(pkg.name) : undefined;
      if (!(prior?.status === 'staged' && prior.stageId)) await record(pkg.name, 'packing');
      // Asked before packing: a package that lends its slot out while its pre-check is answered holds no tarball.
      const registry = options.registry!;
      let existing: Awaited<ReturnType<typeof lookUp>> | undefined;
      if (!dryRun && !options.stage) {
        await checkOutOfRunDeps(pkg);
        existing = await lookUp(pkg, slot);
      }
      const packed = await options.pack(pkg, releaseVersions);
      integrities.set(pkg.name, packed.integrity);
      if (dryRun) {
        say(pkg.name, `would be ${options.stage ? 'staged' : 'published'} (${packed.tarball.length} bytes, ${packed.integrity.slice(0, 20)}…)`);
        return finish(pkg, 'pending', t0, { note: `dry run: would ${options.stage ? 'stage' : 'publish'}` });
      }
      if (options.stage) return await stageOne(pkg, packed, t0, prior);
      if (existing) {
        if (existing.integrity !== packed.integrity) throw versionExistsError(pkg, registry.registry, existing.integrity, packed.integrity);
        const { tag } = settingsOf(pkg);
        const repaired = await registry.ensureDistTag(pkg.name, pkg.version, tag);
        const note = `already on ${registry.registry}${repaired ? `, dist-tag ${tag} repaired` : ''}`;
        say(pkg.name, `skipped: ${note}`);
        await record(pkg.name, 'skipped', { integrity: packed.integrity, skippedReason: note });
        return finish(pkg, 'skipped', t0, { note });
      }
      // A stop asked for since this package started: it does not begin an upload, and is pending again.
      if (options.shouldStop?.()) {
        await record(pkg.name, 'pending');
        return stop(pkg, t0, 'not uploaded');
      }
      say(pkg.name, 'publishing');
      await record(pkg.name, 'publishing', { integrity: packed.integrity });
      const { tag, access, otp } = settingsOf(pkg);
      const outcome = await registry.publish(packed.manifest, packed.tarball, { tag, access, otp, integrity: packed.integrity, slot });
      packed.tarball = Buffer.alloc(0);
      // The slot (an upload) is free again; dependents still wait until this settles.
      return { settle: verify(pkg, packed.integrity, outcome, t0) };
    } catch (error) {
      return fail(pkg, t0, error);
    }
  };

  /** A staged run's package: staged, not published; its stage id recorded. */
  const stageOne = async (pkg: ReleasePackage, packed: PackedPackage, t0: number, prior: ReturnType<JournalPort['get']>): Promise<boolean> => {
    const registry = options.registry!;
    await checkOutOfRunDeps(pkg);
    const existing = await lookUp(pkg);
    if (existing) {
      if (existing.integrity !== packed.integrity) throw versionExistsError(pkg, registry.registry, existing.integrity, packed.integrity);
      const note = `already live on ${registry.registry}: not staged`;
      say(pkg.name, `skipped: ${note}`);
      await record(pkg.name, 'skipped', { integrity: packed.integrity, skippedReason: note });
      return finish(pkg, 'skipped', t0, { note });
    }
    if (prior?.status === 'staged' && prior.stageId && prior.integrity === packed.integrity) {
      say(pkg.name, `already staged by this run (stage ${prior.stageId})`);
      return finish(pkg, 'staged', t0, { stageId: prior.stageId, note: `stage ${prior.stageId} (already staged by this run)` });
    }
    if (options.shouldStop?.()) {
      await record(pkg.name, 'pending');
      return stop(pkg, t0, 'not staged');
    }
    if (!registry.stage) throw new LockstepError(ErrorCodes.EINTERNAL, 'The registry port of this run cannot stage');
    say(pkg.name, 'staging');
    await record(pkg.name, 'staging', { integrity: packed.integrity });
    const { tag, access } = settingsOf(pkg);
    const stageId = await registry.stage(packed.manifest, packed.tarball, { tag, access });
    packed.tarball = Buffer.alloc(0);
    await record(pkg.name, 'staged', { integrity: packed.integrity, stageId });
    say(pkg.name, `staged in ${Math.round(performance.now() - t0)} ms (stage ${stageId})`);
    return finish(pkg, 'staged', t0, { stageId, note: `stage ${stageId}` });
  };

  /**
   * A version expected on the registry already (nx release did not bump it):
   * never packed or uploaded; confirmed there and skipped, dist-tags untouched.
   */
  const confirmExpected = async (pkg: ReleasePackage, t0: number): Promise<boolean> => {
    if (dryRun) {
      say(pkg.name, `would be skipped: ${pkg.expectPublished}`);
      return finish(pkg, 'pending', t0, { note: `dry run: ${pkg.expectPublished}` });
    }
    const registry = options.registry!;
    const existing = await lookUp(pkg);
    if (!existing) {
      throw expectedVersionMissingError(pkg, registry.registry);
    }
    integrities.set(pkg.name, existing.integrity);
    const note = `${pkg.expectPublished}; already on ${registry.registry}`;
    say(pkg.name, `skipped: ${note}`);
    await record(pkg.name, 'skipped', { integrity: existing.integrity, skippedReason: note });
    return finish(pkg, 'skipped', t0, { note });
  };

  const verify = async (pkg: ReleasePackage, integrity: string, outcome: 'published' | 'already-published', t0: number): Promise<boolean> => {
    const registry = options.registry!;
    try {
      await record(pkg.name, 'verifying', { integrity });
      await registry.waitUntilVisible(pkg.name, pkg.version, integrity, { timeoutMs: options.verifyTimeoutMs });
      if (outcome === 'already-published') {
        const note = `already on ${registry.registry} (found after an upload conflict)`;
        say(pkg.name, `skipped: ${note}`);
        await record(pkg.name, 'skipped', { integrity, skippedReason: note });
        return finish(pkg, 'skipped', t0, { note });
      }
      await record(pkg.name, 'published', { integrity });
      say(pkg.name, `published in ${Math.round(performance.now() - t0)} ms`);
      return finish(pkg, 'published', t0);
    } catch (error) {
      return fail(pkg, t0, error);
    }
  };

  const outcome = await runScheduled(plan, (name, slot) => (confirmOnly.has(name) ? confirmDependency(byName.get(name)!) : publishOne(byName.get(name)!, slot)), {
    concurrency: options.maxConcurrency,
    shouldStop: options.shouldStop,
    onBlocked: (name, cause) => {
      const pkg = byName.get(name)!;
      if (stopped.has(cause)) return;
      const why = unconfirmed.get(cause);
      if (!confirmOnly.has(name)) {
        say(name, `blocked: ${why ? `${cause} could not be confirmed: [${why.code}] ${why.message}` : confirmOnly.has(cause) ? `${cause} was not published by this run` : `${cause} failed`}`);
      }
      results.set(name, { name, version: pkg.version, project: pkg.project, level: level(name), status: 'blocked', durationMs: 0, note: `blocked by ${cause}`, ...(why ? { error: why } : {}) });
    },
  });
  for (const [name, state] of outcome.outcomes) {
    // A dependent of a package the stop cut off was not started, not blocked.
    if (state === 'blocked' && stopped.has(outcome.blockedBy.get(name)!)) {
      if (!confirmOnly.has(name)) {
        const pkg = byName.get(name)!;
        results.set(name, { name, version: pkg.version, project: pkg.project, level: level(name), status: 'pending', durationMs: 0, note: 'not started (stopped)' });
      }
      continue;
    }
    if (state === 'blocked' && !confirmOnly.has(name) && !dryRun) {
      try {
        const cause = outcome.blockedBy.get(name)!;
        const why = unconfirmed.get(cause);
        const message = `blocked by ${cause}${why ? ` (it could not be confirmed: [${why.code}] ${why.message})` : ''}`;
        await options.journal?.transition(name, 'blocked', { level: level(name), error: { code: ErrorCodes.EBLOCKED, message } });
      } catch {
        // the result below still says blocked
      }
    }
    if (state === 'not-started') {
      const pkg = byName.get(name)!;
      results.set(name, { name, version: pkg.version, project: pkg.project, level: level(name), status: 'pending', durationMs: 0, note: 'not started (stopped)' });
    }
  }

  const { ok, counts, packages } = summarizeRows(local.map((n) => results.get(n)!).filter(Boolean), { dryRun });
  return {
    ok,
    dryRun,
    ...(options.stage ? { stage: true } : {}),
    registry: options.registry?.registry,
    tag: options.tag,
    durationMs: performance.now() - started,
    levels: fullPlan.byLevel,
    counts,
    packages,
  };
}

function describePlan(plan: Plan, log: (line: string) => void): void {
  const total = plan.levels.size;
  log(`Plan: ${total} package${total === 1 ? '' : 's'} in ${plan.byLevel.length} level${plan.byLevel.length === 1 ? '' : 's'} (critical path ${plan.criticalPath.length}).`);
  plan.byLevel.forEach((names, i) => {
    const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', ');
    log(`  L${i}: ${shown}`);
  });
}
