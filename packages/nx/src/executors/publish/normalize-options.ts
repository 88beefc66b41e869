import * as path from 'path';
import { AUTH_MODES, isLockstepError, parseDuration, type ReleaseOptions } from '@lockstep/core/dist/publish-task';
import { badOptionError } from '../../errors';
import type { PublishExecutorSchema } from './schema';


/** Every option the publish executor takes (schema.json's properties); any other is EBADOPTIONS, not silently ignored. */
export const PUBLISH_OPTIONS = [
  'packageRoot',
  'registry',
  'tag',
  'access',
  'otp',
  'auth',
  'provenance',
  'provenanceFile',
  'dryRun',
  'stage',
  'maxConcurrency',
  'retries',
  'verifyTimeoutMs',
  'resume',
  'concurrency',
  'lockPolicy',
  'lockBackend',
  'forceLock',
  'summaryFile',
  'cycles',
  'firstRelease',
  'nxReleaseVersionData',
] as const;

/**
 * Options that hold for the whole run: in batch mode every task must agree on
 * them (EBADOPTIONS otherwise). The rest (packageRoot, registry, tag, access,
 * otp, auth, provenance, provenanceFile, retries, firstRelease, nxReleaseVersionData) are per package: each
 * package uses its own task's.
 */
export const RUN_WIDE_OPTIONS = ['dryRun', 'stage', 'maxConcurrency', 'verifyTimeoutMs', 'resume', 'concurrency', 'lockBackend', 'lockPolicy', 'forceLock', 'summaryFile', 'cycles'] as const;


/**
 * Uploads in flight by default. Chosen from the publish bench (60 packages in
 * 6 levels, +100 ms proxy): 4 → 8 brings a run from 3.84 s to 3.60 s and
 * absorbs injected 429/503s better (1.75x → 1.58x the fault-free run), 12
 * gains nothing more there (the dependency chain is the bound). 8 uploads
 * plus the batch pre-checks stay within what npm itself keeps open to one
 * registry (`maxsockets`, 15 by default, which npm-registry-fetch's agent
 * applies to lockstep's requests too). README: "Why 8 uploads at once".
 */
export const DEFAULT_MAX_CONCURRENCY = 8;

function integer(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw badOptionError(`${name} must be a whole number ≥ ${min}, not ${JSON.stringify(value)}.`, `Remove ${name} to use the default (${fallback}).`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw badOptionError(`${name} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, not ${JSON.stringify(value)}.`, `Use ${name}: "${fallback}".`);
  return value as T;
}

/** Resolves env (NX_DRY_RUN) and defaults once; nothing downstream re-checks. */
export function normalizePublishOptions(options: PublishExecutorSchema, ctx: { root: string; env: NodeJS.ProcessEnv }): ReleaseOptions {
  const unknown = Object.keys(options ?? {}).filter((key) => !(PUBLISH_OPTIONS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw badOptionError(
      `Unknown publish option${unknown.length === 1 ? '' : 's'}: ${unknown.map((k) => `"${k}"`).join(', ')}.`,
      `The publish executor takes ${PUBLISH_OPTIONS.join(', ')}. Check the spelling in project.json, nx.json's targetDefaults and the command line.`,
    );
  }
  if (options.registry !== undefined) {
    try {
      const url = new URL(options.registry);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw badOptionError(`registry must be an http(s) URL, not ${JSON.stringify(options.registry)}.`, 'For example "https://registry.npmjs.org/", or leave it out to use .npmrc.');
    }
  }
  const concurrency = options.concurrency ?? {};
  const lockBackend = normalizeLockBackend(options.lockBackend);
  const max = integer(concurrency.max, 'concurrency.max', 1, 1);
  const cancelInProgress = concurrency.cancelInProgress === true;
  if (lockBackend.type === 'git' && (max > 1 || cancelInProgress)) {
    throw badOptionError(
      `${max > 1 ? `concurrency.max ${max}` : 'concurrency.cancelInProgress'} needs lockBackend "local": a run on another machine cannot be counted into slots or sent a signal.`,
      'With lockBackend "git", runs of the group queue one at a time; remove max and cancelInProgress.',
    );
  }
  const group = concurrency.group ?? 'publish';
  if (typeof group !== 'string' || group.trim() === '') throw badOptionError('concurrency.group must be a non-empty string.', 'For example "publish" or "release-{branch}".');
  return {
    registry: options.registry,
    // Unset stays undefined: a package's publishConfig.tag applies then, else "latest" (core: package-options.ts).
    tag: typeof options.tag === 'string' && options.tag.trim() ? options.tag.trim() : undefined,
    access: options.access === undefined ? undefined : oneOf(options.access, 'access', ['public', 'restricted'] as const, 'public'),
    otp: normalizeOtp(options.otp, ctx.env),
    auth: oneOf(options.auth, 'auth', AUTH_MODES, 'auto'),
    provenance: options.provenance === undefined ? undefined : options.provenance === true,
    provenanceFile: options.provenanceFile ? path.resolve(ctx.root, options.provenanceFile) : undefined,
    dryRun: options.dryRun === true || ctx.env.NX_DRY_RUN === 'true',
    stage: stageOption(options.stage),
    maxConcurrency: integer(options.maxConcurrency, 'maxConcurrency', 1, DEFAULT_MAX_CONCURRENCY),
    retries: integer(options.retries, 'retries', 0, 3),
    verifyTimeoutMs: integer(options.verifyTimeoutMs, 'verifyTimeoutMs', 0, 5 * 60_000),
    resume: oneOf(options.resume, 'resume', ['auto', 'fresh'] as const, 'auto'),
    group: { template: group, waitTimeoutMs: integer(concurrency.waitTimeoutMs, 'concurrency.waitTimeoutMs', 0, 60 * 60_000), max, cancelInProgress },
    lockBackend,
    lockPolicy: oneOf(options.lockPolicy, 'lockPolicy', ['require', 'warn', 'off'] as const, 'require'),
    forceLock: options.forceLock === true,
    summaryFile: options.summaryFile ? path.resolve(ctx.root, options.summaryFile) : undefined,
    cycles: oneOf(options.cycles, 'cycles', ['allow', 'error'] as const, 'allow'),
    firstRelease: options.firstRelease === true,
    versionData: normalizeVersionData(options.nxReleaseVersionData),
  };
}

function stageOption(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw badOptionError(`stage must be true or false, not ${JSON.stringify(value)}.`, 'Use stage: true to stage every package (lockstep release approve publishes them).');
  return value;
}

/** nx release's version data: `{ [project]: { currentVersion, newVersion, ... } }`; only newVersion is read. */
function normalizeVersionData(value: unknown): ReleaseOptions['versionData'] {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badOptionError('nxReleaseVersionData must be an object by project (nx release passes it).', 'Do not set nxReleaseVersionData by hand: nx release passes it to nx-release-publish.');
  }
  const out = new Map<string, { newVersion: string | null }>();
  for (const [project, data] of Object.entries(value as Record<string, unknown>)) {
    const newVersion = (data as { newVersion?: unknown } | null)?.newVersion;
    if (newVersion === undefined) continue;
    if (newVersion !== null && typeof newVersion !== 'string') {
      throw badOptionError(`nxReleaseVersionData["${project}"].newVersion must be a version or null, not ${JSON.stringify(newVersion)}.`, 'Do not set nxReleaseVersionData by hand: nx release passes it to nx-release-publish.');
    }
    out.set(project, { newVersion });
  }
  return out;
}

/** npm's one-time passwords are 6-digit TOTP codes. */
const OTP_DIGITS = 6;

/**
 * The one-time password as the registry must receive it: a string.
 *  - `otp` given as a number (Nx's command-line parser and option coercion
 *    turn `--otp=012345` into 12345) is padded back to 6 digits, so a code
 *    with leading zeros survives;
 *  - a string is kept as given (trimmed);
 *  - without `otp`, npm's own environment variable is read: `npm_config_otp`
 *    or `NPM_CONFIG_OTP` (any case, as npm reads them), a route Nx neither
 *    prints nor records.
 * Never printed: the executor's redactor and the registry client know it.
 */
export function normalizeOtp(value: unknown, env: NodeJS.ProcessEnv): string | undefined {
  if (value === undefined || value === null || value === '') return otpFromEnv(env);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw badOptionError('otp must be the one-time password from your authenticator, a whole number of digits.', 'Pass it as a string, or better in NPM_CONFIG_OTP.');
    return String(value).padStart(OTP_DIGITS, '0');
  }
  if (typeof value === 'string') return value.trim() || otpFromEnv(env);
  throw badOptionError('otp must be a string (the one-time password from your authenticator).', 'Pass it in NPM_CONFIG_OTP instead of an option.');
}

function otpFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const exact = env.npm_config_otp ?? env.NPM_CONFIG_OTP;
  const value = exact ?? Object.entries(env).find(([key]) => key.toLowerCase() === 'npm_config_otp')?.[1];
  return value?.trim() || undefined;
}

const DEFAULT_GIT_LEASE_TTL_MS = 2 * 60_000;

function normalizeLockBackend(value: PublishExecutorSchema['lockBackend']): ReleaseOptions['lockBackend'] {
  const spec = typeof value === 'string' || value === undefined ? { type: value ?? 'local' } : value;
  const type = oneOf(spec?.type, 'lockBackend', ['local', 'git'] as const, 'local');
  if (type === 'local') return { type };
  const remote = (spec as { remote?: unknown }).remote ?? 'origin';
  if (typeof remote !== 'string' || !/^[\w.\-/]+$/.test(remote)) {
    throw badOptionError(`lockBackend.remote must be the name of a git remote, not ${JSON.stringify(remote)}.`, 'For example { "type": "git", "remote": "origin" }.');
  }
  const ttl = (spec as { ttl?: unknown }).ttl;
  let ttlMs = DEFAULT_GIT_LEASE_TTL_MS;
  if (ttl !== undefined) {
    try {
      ttlMs = parseDuration(String(ttl), 'lockBackend.ttl');
      if (ttlMs < 10_000) throw badOptionError(`lockBackend.ttl must be at least 10s, not ${JSON.stringify(ttl)}.`, 'The lease is renewed every third of it over the network: use 30s or more (default 2m).');
    } catch (error) {
      if (isLockstepError(error)) throw badOptionError(error.message, error.hint ?? 'For example "2m".');
      throw error;
    }
  }
  return { type, remote, ttlMs };
}

/** The normalized value of a run-wide option, for comparison and messages. */
function runWideValue(options: ReleaseOptions, name: (typeof RUN_WIDE_OPTIONS)[number]): unknown {
  switch (name) {
    case 'concurrency':
      return options.group;
    default:
      return options[name];
  }
}

/**
 * Batch mode: the tasks of one run must agree on the run-wide options
 * (RUN_WIDE_OPTIONS). Throws one EBADOPTIONS naming every option that
 * differs, with each value and the projects that have it.
 */
export function checkRunWideOptions(byProject: ReadonlyMap<string, ReleaseOptions>): void {
  const differences: string[] = [];
  for (const name of RUN_WIDE_OPTIONS) {
    const groups = new Map<string, string[]>();
    for (const [project, options] of byProject) {
      const value = JSON.stringify(runWideValue(options, name)) ?? 'undefined';
      groups.set(value, [...(groups.get(value) ?? []), project]);
    }
    if (groups.size < 2) continue;
    const shown = [...groups].map(([value, projects]) => `${value} (${projects.sort().join(', ')})`);
    differences.push(`${name}: ${shown.join(' vs ')}`);
  }
  if (differences.length === 0) return;
  throw badOptionError(
    `The publish tasks of this run disagree on option${differences.length === 1 ? '' : 's'} that hold for the whole run: ${differences.join('; ')}.`,
    `${RUN_WIDE_OPTIONS.join(', ')} hold for the whole run: set them once (nx.json targetDefaults, or the command line), not per project. ` +
      'registry, tag, access, otp, retries and packageRoot may differ: each package uses its own.',
  );
}
