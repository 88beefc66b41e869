import { performance } from 'perf_hooks';
import { prerelease } from 'semver';
import { ErrorCodes, LockstepError, toLockstepError } from '../errors';
import { planLevels } from '../schedule/plan-levels';
import { mapLimit } from '../util/map-limit';
import { expectedVersionMissingError, outOfRunDependencyMissingError, prereleaseWithoutTagError, privateDependencyMissingError, registryRangeMissingError, restrictedUnscopedError } from './errors';
import { readPublishConfig } from './publish-config';
import { RegistryPort, ReleasePackage } from './types';

/** One reason the run would fail (or publish something no one can install), found before the first upload. */
export interface PreflightProblem {
  /** Whose problem: `name@version`, `project <name>` (no readable manifest), a registry URL, or `the run` (a cycle). */
  subject: string;
  code: string;
  message: string;
  hint?: string;
}

export interface PreflightOptions {
  /** Every package of the run (all of its projects, not only this process's). */
  packages: readonly ReleasePackage[];
  /** Problems found while reading the workspace (a project without a readable manifest): reported with the rest. */
  known?: readonly PreflightProblem[];
  /** Versions of workspace packages that are not in this run: what their internal specs become. */
  workspaceVersions: ReadonlyMap<string, string>;
  /**
   * Everything packPackage would refuse, without making the tarball (core's
   * checkPackage through the executor's services): [] when packable.
   * `files: false`: the manifest and its specs only, not npm's file list.
   */
  checkPack(pkg: ReleasePackage, releaseVersions: ReadonlyMap<string, string>, scope: { files: boolean }): Promise<LockstepError[]>;
  /**
   * List and check the files of these packages only (a per-task dry run: the
   * task's own, since every task would otherwise list the whole run); the
   * others get the manifest and spec checks. Default: every public package.
   */
  packOnly?: ReadonlySet<string>;
  /** The run's access option: `restricted` cannot apply to an unscoped package (libnpmpublish's EUNSCOPED, at upload time). */
  access?: string;
  /** By package name, where a package's own access differs from the run's (batch mode: each task's options). */
  accessOf?: (pkg: ReleasePackage) => string | undefined;
  /**
   * Each package's dist-tag as the user or its publishConfig set it;
   * undefined: nothing set one (it would be "latest"), which a prerelease
   * version may not rely on. Default: none set.
   */
  tagOf?: (pkg: ReleasePackage) => string | undefined;
  /** `allow` (default): a cycle among the run's packages is fine (its members are published without an order among them); `error`: ECYCLE. */
  cycles?: 'allow' | 'error';
  /** Absent (dry run): nothing remote is checked. */
  registry?: RegistryPort;
  /** Checks in flight. Default 8. */
  concurrency?: number;
  redact: (text: string) => string;
}

export interface PreflightReport {
  problems: PreflightProblem[];
  /** Packages whose packing was checked in full (file list included). */
  packChecked: number;
  /** Whether the registry (credentials, dependencies resolving there) was checked. */
  remote: boolean;
  durationMs: number;
}

/** EPREFLIGHT: the run's problems, every one with its own code, message and hint. */
export class PreflightError extends LockstepError {
  constructor(
    readonly problems: readonly PreflightProblem[],
    message: string,
    hint: string,
  ) {
    super(ErrorCodes.EPREFLIGHT, message, { hint });
    this.name = 'PreflightError';
  }
}

const DEFAULT_CONCURRENCY = 8;

/**
 * Validates a whole publish run before anything is uploaded (G6) and returns
 * every problem found, never just the first:
 *  - local: the problems the caller found reading manifests, a dependency
 *    cycle among the run's packages (only with cycles: "error"), and for
 *    every public package not expected on the registry already what
 *    packPackage would refuse (manifest name and version, internal specs,
 *    bundleDependencies, npm's file list, unreadable files) plus local-path
 *    specs a consumer could not install, an invalid publishConfig, and a
 *    prerelease version that no tag was set for (it would become latest);
 *  - remote (with a registry): the credentials for every registry the run
 *    publishes to (checkCredentials: accepted, and a user behind them), then
 *    whether what resolves on the registry is there: versions expected
 *    there already (ReleasePackage.expectPublished), workspace dependencies
 *    outside the run at their current version, private workspace packages a
 *    public one depends on, and plain ranges the workspace version does not
 *    satisfy. If the credentials check fails, the reads are skipped: they
 *    would fail the same way.
 * Registry faults (429, 5xx) are retried inside the registry port as for any
 * request; what is left after the retries is a problem like any other.
 */
export async function preflightRun(options: PreflightOptions): Promise<PreflightReport> {
  const started = performance.now();
  const problems: PreflightProblem[] = [...(options.known ?? [])];
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const byName = new Map(options.packages.map((p) => [p.name, p]));
  const releaseVersions = new Map(options.packages.map((p) => [p.name, p.version]));
  const label = (pkg: ReleasePackage) => `${pkg.name}@${pkg.version}`;
  const add = (subject: string, error: unknown) => {
    const e = toLockstepError(error);
    problems.push({ subject, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
  };

  try {
    planLevels(
      options.packages.map((p) => ({ name: p.name, deps: p.internalDeps, edges: p.depReasons })),
      { cycles: options.cycles ?? 'allow' },
    );
  } catch (error) {
    add('the run', error);
  }

  const publicPackages = options.packages.filter((p) => !p.private);
  // Versions expected on the registry already are never packed: only their presence is checked (below).
  const packed = publicPackages.filter((p) => p.expectPublished === undefined);
  const accessOf = options.accessOf ?? (() => options.access);
  const tagOf = options.tagOf ?? (() => undefined);
  for (const pkg of packed) {
    // publishConfig: what npm publish would apply of it (registry, tag, access, provenance) must be valid.
    for (const problem of readPublishConfig(pkg).problems) add(label(pkg), problem);
    // npm 11 refuses a prerelease that would be tagged latest by default; an explicit "latest" is the user's call.
    if (tagOf(pkg) === undefined && prerelease(pkg.version) !== null) add(label(pkg), prereleaseWithoutTagError(pkg));
    if (pkg.name.startsWith('@') || accessOf(pkg) !== 'restricted') continue;
    add(
      label(pkg),
      restrictedUnscopedError(pkg.name),
    );
  }
  const listed = (p: ReleasePackage) => !options.packOnly || options.packOnly.has(p.name);
  // The registry half runs while the packages are checked locally: its first request (the credentials check) is not
  // queued behind every package's file listing, and a Retry-After it meets overlaps that work.
  const registry = options.registry;
  const remote = registry ? checkRemote(options, registry, publicPackages, byName, concurrency, add) : Promise.resolve();
  await mapLimit(packed, concurrency, async (pkg) => {
    let found: LockstepError[];
    try {
      found = await options.checkPack(pkg, releaseVersions, { files: listed(pkg) });
    } catch (error) {
      found = [toLockstepError(error)];
    }
    for (const error of found) add(label(pkg), error);
  });
  await remote;

  const seen = new Set<string>();
  const unique = problems
    .map((p) => ({ ...p, subject: options.redact(p.subject), message: options.redact(p.message), ...(p.hint ? { hint: options.redact(p.hint) } : {}) }))
    .filter((p) => {
      const key = `${p.subject}\u0000${p.code}\u0000${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  return { problems: unique, packChecked: packed.filter(listed).length, remote: registry !== undefined, durationMs: performance.now() - started };
}

/** The credentials for every registry the run publishes to, then (if they hold) what must resolve there. */
async function checkRemote(
  options: PreflightOptions,
  registry: RegistryPort,
  publicPackages: readonly ReleasePackage[],
  byName: ReadonlyMap<string, ReleasePackage>,
  concurrency: number,
  add: (subject: string, error: unknown) => void,
): Promise<void> {
  // One check per registry: the port dedupes by the registry a name publishes to; equal answers are one problem.
  const credentialErrors = new Map<string, LockstepError>();
  if (registry.checkCredentials) {
    const check = registry.checkCredentials.bind(registry);
    await mapLimit(publicPackages, concurrency, async (pkg) => {
      try {
        await check(pkg.name);
      } catch (error) {
        const e = toLockstepError(error);
        credentialErrors.set(`${e.code} ${e.message}`, e);
      }
    });
  }
  for (const error of credentialErrors.values()) add(registry.registry, error);
  if (credentialErrors.size === 0) await checkResolvable(options, registry, publicPackages, byName, add);
}

/** The registry half: every install-time dependency that resolves on the registry must be there. */
async function checkResolvable(
  options: PreflightOptions,
  registry: RegistryPort,
  publicPackages: readonly ReleasePackage[],
  byName: ReadonlyMap<string, ReleasePackage>,
  add: (subject: string, error: unknown) => void,
): Promise<void> {
  const published = new Map<string, Promise<boolean>>();
  const isPublished = (name: string, version: string) => {
    const key = `${name}@${version}`;
    let answer = published.get(key);
    if (!answer) {
      answer = registry.getPublished(name, version).then((found) => found !== undefined);
      published.set(key, answer);
    }
    return answer;
  };
  const checks: Array<{ pkg: ReleasePackage; run(): Promise<void> }> = [];
  for (const pkg of publicPackages) {
    if (pkg.expectPublished !== undefined) {
      checks.push({
        pkg,
        async run() {
          if (await isPublished(pkg.name, pkg.version)) return;
          throw expectedVersionMissingError(pkg, registry.registry);
        },
      });
    }
    for (const dep of pkg.internalDeps) {
      const inRun = byName.get(dep);
      if (inRun && !inRun.private) continue;
      const version = inRun ? inRun.version : options.workspaceVersions.get(dep);
      if (version === undefined) continue;
      checks.push({
        pkg,
        async run() {
          if (await isPublished(dep, version)) return;
          throw inRun ? privateDependencyMissingError(pkg, dep, version, registry.registry) : outOfRunDependencyMissingError(pkg, dep, version, registry.registry);
        },
      });
    }
    const hasVersionInRange = registry.hasVersionInRange?.bind(registry);
    if (!hasVersionInRange) continue;
    for (const { name, field, range } of pkg.registryRanges ?? []) {
      checks.push({
        pkg,
        async run() {
          if (await hasVersionInRange(name, range)) return;
          const version = byName.get(name)?.version ?? options.workspaceVersions.get(name);
          throw registryRangeMissingError(pkg, { field, name, range, version }, registry.registry);
        },
      });
    }
  }
  await mapLimit(checks, options.concurrency ?? DEFAULT_CONCURRENCY, async (check) => {
    try {
      await check.run();
    } catch (error) {
      add(`${check.pkg.name}@${check.pkg.version}`, error);
    }
  });
}

/** The one error of a run that failed its preflight: every problem, each with its code, message and hint. Undefined when there is none. */
export function preflightError(problems: readonly PreflightProblem[]): PreflightError | undefined {
  if (problems.length === 0) return undefined;
  const sorted = [...problems].sort((a, b) => rank(a) - rank(b) || a.subject.localeCompare(b.subject) || a.code.localeCompare(b.code));
  const lines = sorted.map((p) => {
    const body = `  - ${p.subject}: [${p.code}] ${p.message.replace(/\n/g, '\n    ')}`;
    return p.hint ? `${body}\n      Hint: ${p.hint.replace(/\n/g, '\n      ')}` : body;
  });
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new PreflightError(
    sorted,
    `Nothing was published: the checks before the first upload found ${count} in this run.\n${lines.join('\n')}`,
    'Nothing was published and nothing was recorded as published. Fix every problem listed above, then run the same command again.',
  );
}

/** Problems of the run as a whole first (registry, cycle), then those of packages and projects. */
function rank(p: PreflightProblem): number {
  if (p.subject === 'the run') return 1;
  if (/^https?:\/\//.test(p.subject)) return 0;
  return 2;
}
