import { planLevels } from '../schedule/plan-levels';
import { readPublishConfig } from '../publish/publish-config';
import type { PackageSettings, PublishSummary, RegistryPort, ReleasePackage } from '../publish/types';
import type { ReleaseOptions } from './options';
import type { ReleaseServices } from './services';

/**
 * Per-package options of a run. In batch mode each package uses its own
 * task's normalized options (registry, tag, access, otp, retries,
 * firstRelease, nxReleaseVersionData; packageRoot is read with the
 * projects); in per-task mode a task has only its own, which then hold for
 * every package it checks.
 */
export type OptionsOf = (pkg: ReleasePackage) => ReleaseOptions;

/** The tag a package goes out with when neither its options nor its publishConfig set one. */
export const DEFAULT_TAG = 'latest';

/**
 * Each package's effective options, as npm 11 publish applies publishConfig
 * (flattened over its config, except keys given as flags): registry, tag,
 * access and provenance are the target's option when the user set it, else
 * the package's publishConfig value, else npm's config (tag: unset here,
 * DEFAULT_TAG where used). Invalid publishConfig values are ignored here:
 * the preflight refuses the run for them (G6) before anything is uploaded.
 */
export function withPublishConfig(optionsOf: OptionsOf): OptionsOf {
  const cache = new Map<ReleasePackage, ReleaseOptions>();
  return (pkg) => {
    const options = optionsOf(pkg);
    if (pkg.publishConfig === undefined) return options;
    let effective = cache.get(pkg);
    if (!effective) {
      const { config } = readPublishConfig(pkg);
      effective = {
        ...options,
        registry: options.registry ?? config.registry,
        tag: options.tag ?? config.tag,
        access: options.access ?? config.access,
        provenance: options.provenance ?? config.provenance,
      };
      cache.set(pkg, effective);
    }
    return effective;
  };
}

/**
 * Marks in the summary each package whose tag or registry option differs
 * from the run's (publishConfig, or its own task's options in batch mode),
 * so the table says where it went.
 */
export function markOwnTargets(summary: PublishSummary, packages: readonly ReleasePackage[], optionsOf: OptionsOf, run: Pick<ReleaseOptions, 'registry' | 'tag'>): PublishSummary {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const slash = (url: string | undefined) => (url === undefined ? undefined : url.endsWith('/') ? url : `${url}/`);
  const runTag = run.tag ?? DEFAULT_TAG;
  const packageResults = summary.packages.map((result) => {
    const pkg = byName.get(result.name);
    if (!pkg || pkg.private || pkg.expectPublished !== undefined) return result;
    const own = optionsOf(pkg);
    const tag = own.tag ?? DEFAULT_TAG;
    const registry = slash(own.registry);
    return {
      ...result,
      ...(tag !== runTag ? { tag } : {}),
      ...(registry !== undefined && registry !== slash(run.registry) && registry !== slash(summary.registry) ? { registry } : {}),
    };
  });
  return { ...summary, tag: summary.tag ?? runTag, packages: packageResults };
}

/** Why nx release's version data marks a package as expected on the registry already. */
export const NOT_BUMPED = 'nx release did not bump it (newVersion null)';

/**
 * `nx release` passes the version step's result: a project whose newVersion
 * is null was not bumped, so its current version is expected on the registry
 * already (never uploaded, G6 refuses the run when it is missing). With
 * firstRelease it is published like any other package: it may be new.
 */
export function applyVersionData(packages: ReleasePackage[], optionsOf: OptionsOf): ReleasePackage[] {
  return packages.map((pkg) => {
    const options = optionsOf(pkg);
    const data = pkg.project === undefined ? undefined : options.versionData?.get(pkg.project);
    if (!data || data.newVersion !== null || options.firstRelease || pkg.private) return pkg;
    return { ...pkg, expectPublished: NOT_BUMPED };
  });
}

/** Each package's tag, access and OTP, by package name. */
export function packageSettings(packages: readonly ReleasePackage[], optionsOf: OptionsOf): Map<string, PackageSettings> {
  return new Map(packages.map((pkg) => {
    const { tag, access, otp } = optionsOf(pkg);
    return [pkg.name, { tag: tag ?? DEFAULT_TAG, access, otp }];
  }));
}

const clientKey = (o: Pick<ReleaseOptions, 'registry' | 'retries' | 'otp' | 'auth' | 'provenance' | 'provenanceFile'>) =>
  JSON.stringify([o.registry ?? null, o.retries, o.otp ?? null, o.auth, o.provenance ?? null, o.provenanceFile ?? null]);

/**
 * One registry port for the run that sends each package's requests to its
 * own registry client (one client per distinct registry, retries and OTP).
 * A name outside the run (a workspace dependency published earlier) is asked
 * on the run's default client. The port's `registry` is the default's.
 */
export async function routedRegistry(services: ReleaseServices, base: ReleaseOptions, packages: readonly ReleasePackage[], optionsOf: OptionsOf): Promise<RegistryPort> {
  const fallback = await services.createRegistry(base);
  const clients = new Map<string, RegistryPort>([[clientKey(base), fallback]]);
  const byName = new Map<string, RegistryPort>();
  for (const pkg of packages) {
    const options = optionsOf(pkg);
    const key = clientKey(options);
    let client = clients.get(key);
    if (!client) {
      const { registry, retries, otp, auth, provenance, provenanceFile } = options;
      client = await services.createRegistry({ registry, retries, otp, auth, provenance, provenanceFile });
      clients.set(key, client);
    }
    byName.set(pkg.name, client);
  }
  if (clients.size === 1) return fallback;
  const to = (name: string) => byName.get(name) ?? fallback;
  return {
    registry: fallback.registry,
    getPublished: (name, version) => to(name).getPublished(name, version),
    publish: (manifest, tarball, o) => to(String(manifest.name)).publish(manifest, tarball, o),
    ensureDistTag: (name, version, tag) => to(name).ensureDistTag(name, version, tag),
    waitUntilVisible: (name, version, integrity, o) => to(name).waitUntilVisible(name, version, integrity, o),
    checkCredentials: async (name) => to(name).checkCredentials?.(name),
    hasVersionInRange: async (name, range) => {
      const client = to(name);
      return client.hasVersionInRange ? client.hasVersionInRange(name, range) : true;
    },
  };
}

/**
 * The cycles among the run's packages, told once per run: which packages
 * form each, and what that means for the order. Undefined without cycles
 * (and with cycles: "error", where the checks refuse the run instead).
 */
export function describeCycles(packages: readonly ReleasePackage[], cycles: 'allow' | 'error'): string | undefined {
  if (cycles === 'error') return undefined;
  let found: string[][];
  try {
    found = planLevels(packages.map((p) => ({ name: p.name, deps: p.internalDeps })), { cycles: 'allow' }).cycles;
  } catch {
    return undefined;
  }
  if (found.length === 0) return undefined;
  const list = found.map((members) => members.join(' ⇄ ')).join('; ');
  return (
    `${found.length === 1 ? 'These packages depend on each other in a cycle' : `${found.length} cycles of packages that depend on each other`}: ${list}. ` +
    'The members of a cycle are published without an order among them, after everything outside the cycle that they depend on, ' +
    'and all of them are verified on the registry before anything that depends on the cycle starts (cycles: "error" refuses a cycle instead).'
  );
}
