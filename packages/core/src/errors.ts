/**
 * Every error lockstep raises on purpose carries a stable `code` (for scripts
 * and tests) and a `hint` (for people). Anything else reaching a user is a bug
 * and is wrapped by `toLockstepError` as EINTERNAL with a report hint.
 *
 * Convention: errors are made by factories, one module per area
 * (`lease/errors.ts`, `lock/errors.ts`, `group/errors.ts`, `generate/errors.ts`,
 * `atomic/errors.ts`, `journal/errors.ts`, `publish/errors.ts`,
 * `registry/errors.ts`, `pack/errors.ts`, `schedule/errors.ts`,
 * `util/errors.ts`; the CLI's `cli/src/errors.ts`). A
 * factory is named `<situation>Error(...)` (`leaseConflictError`,
 * `lockTimeoutError`), returns (never throws) a LockstepError with its code
 * and hint, and callers `throw` it. One situation has one factory, so its
 * wording is the same wherever it arises; callers pass structured facts
 * (what was waited for, who holds it), never rewrite another module's message.
 */
export const ErrorCodes = {
  /** Options that cannot work: missing, conflicting or of the wrong type. */
  EBADOPTIONS: 'EBADOPTIONS',
  /** An emitted path is absolute, climbs out with `..`, or escapes via a symlink. */
  EOUTSIDE: 'EOUTSIDE',
  /** The generator threw or the command exited non-zero; outDir is untouched. */
  EGENERATOR: 'EGENERATOR',
  /** outDir (its real path) is not a place lockstep may own: the workspace, a project, .git, node_modules, Nx's cache, outside the workspace, a file. */
  EOUTDIRUNSAFE: 'EOUTDIRUNSAFE',
  /** Another process removed or replaced outDir (or files in it) while a commit was writing. */
  EOUTDIRCHANGED: 'EOUTDIRCHANGED',
  /** The stash a cached generate target left (or Nx restored) is not one whole generation of the expected task hash. */
  ESTASH: 'ESTASH',
  /** Waited `timeoutMs` for a lock another process holds. */
  ELOCKTIMEOUT: 'ELOCKTIMEOUT',
  /** A held lock was lost (stalled heartbeat, reclaimed as stale, removed by hand). */
  ELOCKCOMPROMISED: 'ELOCKCOMPROMISED',
  /** The per-user lock directory is owned by someone else or open to others. */
  ELOCKDIRUNSAFE: 'ELOCKDIRUNSAFE',
  /** The packages of a release depend on each other in a cycle. */
  ECYCLE: 'ECYCLE',
  /** npm configuration (.npmrc, NPM_CONFIG_*) could not be loaded or is unusable. */
  ECONFIG: 'ECONFIG',
  /** The registry refused our credentials (401, or 403 for auth): never retried. */
  EAUTH: 'EAUTH',
  /** Trusted publishing failed: no CI identity token, or the registry would not exchange it for a token of the package (no trusted publisher). */
  EOIDC: 'EOIDC',
  /** A provenance attestation could not be made or attached (sigstore unreachable, a provenanceFile that does not fit the tarball). */
  EPROVENANCE: 'EPROVENANCE',
  /**
   * The manifest asks for something the registry refuses (400: never retried)
   * or that npm publish would not do as written, found before the first
   * upload: an invalid publishConfig (access not public/restricted, registry
   * not a URL, …), a prerelease that would become "latest" because no tag
   * was set, a version with build metadata, restricted access for an
   * unscoped package.
   */
  EBADMANIFEST: 'EBADMANIFEST',
  /** The version is on the registry with other content (another integrity). */
  EVERSIONEXISTS: 'EVERSIONEXISTS',
  /** The registry kept failing (429, 5xx, timeouts, resets) after all retries, or answered nonsense. */
  EREGISTRY: 'EREGISTRY',
  /** The published version did not become visible with the expected integrity in time. */
  EVERIFYTIMEOUT: 'EVERIFYTIMEOUT',
  /** A workspace:, file: or link: dependency names no package of the workspace. */
  EWORKSPACEDEP: 'EWORKSPACEDEP',
  /** A package could not be packed (bad package.json, missing files). */
  EPACK: 'EPACK',
  /** A journal file is not valid JSON or not a journal record. */
  EJOURNALCORRUPT: 'EJOURNALCORRUPT',
  /** An unfinished run of another git commit is in the journal. */
  ESTATESHAMISMATCH: 'ESTATESHAMISMATCH',
  /** Waiting was given up because the process was asked to stop. */
  EABORTED: 'EABORTED',
  /** A newer run of the concurrency group superseded this one (cancelInProgress). */
  ESUPERSEDED: 'ESUPERSEDED',
  /** A lease is held by another owner (CLI exit code 4). */
  ELEASECONFLICT: 'ELEASECONFLICT',
  /** Renew or release of a lease that another owner holds (CLI exit code 4). */
  ELEASENOTOWNER: 'ELEASENOTOWNER',
  /** Renew of a lease that nobody holds (it expired and was collected, or was never taken). */
  ELEASENOTHELD: 'ELEASENOTHELD',
  /** A lease resource without a known namespace (package:, path:, group:, repo:), with an empty or too long name, or with control characters. */
  EBADRESOURCE: 'EBADRESOURCE',
  /** A duration (TTL, wait timeout) that is not like 30s, 15m, 1h30m (grammar in util/duration.ts), or a lease TTL outside 1s..LOCKSTEP_MAX_TTL. */
  EBADDURATION: 'EBADDURATION',
  /** The command given to `lockstep group run` could not be started (exit 127 not found, 126 not runnable). */
  ECOMMAND: 'ECOMMAND',
  /** A git command of the git lease backend failed (no such remote, no push rights, no git). */
  EGIT: 'EGIT',
  /** The validation of a whole publish run before its first upload found problems (each listed with its own code); nothing was published. */
  EPREFLIGHT: 'EPREFLIGHT',
  /** A package of a release was not attempted because a dependency failed (journal and summary records only; never thrown). */
  EBLOCKED: 'EBLOCKED',
  /** `lockstep release approve|reject`: the target's journal holds no staged run, or one that has not finished staging every package. */
  ENOTSTAGED: 'ENOTSTAGED',
  /** A staged version withdrawn by `lockstep release reject` (journal and output records only; never thrown). */
  EREJECTED: 'EREJECTED',
  /** Not one of the above: a bug in lockstep. */
  EINTERNAL: 'EINTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class LockstepError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LockstepError';
    this.code = code;
    this.hint = options.hint;
  }

  /** `[CODE] message` and, on the next line, `Hint: …`; what executors print. */
  format(): string {
    return `[${this.code}] ${this.message}${this.hint ? `\n  Hint: ${this.hint}` : ''}`;
  }
}

export function isLockstepError(error: unknown, code?: ErrorCode): error is LockstepError {
  return error instanceof LockstepError && (code === undefined || error.code === code);
}

export function toLockstepError(error: unknown): LockstepError {
  if (error instanceof LockstepError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LockstepError(ErrorCodes.EINTERNAL, `Unexpected error: ${message}`, {
    hint: 'This is a bug in lockstep. Please report it with the command you ran and this output.',
    cause: error,
  });
}

/** Node's errno code of an fs error, or undefined. */
export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}
