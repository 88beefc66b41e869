import type { PackageStatus, SummaryCounts } from './status';

export type { PackageStatus } from './status';

/** A workspace package as the publish pipeline sees it. */
export interface ReleasePackage {
  name: string;
  version: string;
  /** Absolute folder to pack (packageRoot, or the project root). */
  dir: string;
  private: boolean;
  /** Names of workspace packages it needs at install time (dependencies, optional, peer). */
  internalDeps: string[];
  /** The Nx project, for messages and task results. */
  project?: string;
  /** Why it depends on each of internalDeps, for messages: `dependencies["b"] is "workspace:*"`. */
  depReasons?: Record<string, string>;
  /**
   * Install-time dependencies on workspace packages whose plain range the
   * workspace version does not satisfy: they resolve on the registry, which
   * must have a version in the range (checked before the first upload, G6).
   */
  registryRanges?: Array<{ name: string; field: string; range: string }>;
  /**
   * Set when this version is expected to be on the registry already, and why
   * (e.g. `nx release` did not bump it): it is never uploaded. The run
   * confirms it is there and skips it (its dist-tags untouched), and the
   * checks before the first upload (G6) refuse the run when it is not.
   */
  expectPublished?: string;
  /** package.json's publishConfig as written (publish-config.ts reads what lockstep honours of it). */
  publishConfig?: unknown;
}

/** How one package is published, where it differs from the run's defaults (batch mode: each task's own options). */
export interface PackageSettings {
  tag: string;
  access?: string;
  otp?: string;
}


export interface PackedPackage {
  manifest: Record<string, unknown>;
  tarball: Buffer;
  /** sha512 SRI of the tarball. */
  integrity: string;
}

/** What the pipeline needs from the registry; the real one is createRegistryClient. */
export interface RegistryPort {
  readonly registry: string;
  getPublished(name: string, version: string): Promise<{ integrity: string; distTags: Record<string, string> } | undefined>;
  /** `slot`: the package's concurrency slot, given back while the upload waits between attempts (Retry-After, backoff). */
  publish(
    manifest: Record<string, unknown>,
    tarball: Buffer,
    options: { tag: string; access?: string; otp?: string; integrity: string; slot?: { release(): void; acquire(): Promise<void> } },
  ): Promise<'published' | 'already-published'>;
  ensureDistTag(name: string, version: string, tag: string): Promise<boolean>;
  waitUntilVisible(name: string, version: string, integrity: string, options: { timeoutMs: number }): Promise<void>;
  /** Stages the version (npm's staged publishing) instead of publishing it; returns the stage id. Needed by a staged run. */
  stage?(manifest: Record<string, unknown>, tarball: Buffer, options: { tag: string; access?: string }): Promise<string>;
  /**
   * Before the first upload (G6): are the credentials for the registry `name`
   * publishes to accepted? Throws EAUTH (refused, or no user behind them) or
   * EREGISTRY (unreachable after the retries). Absent: not checked.
   */
  checkCredentials?(name: string): Promise<void>;
  /** Whether the registry has a version of `name` in `range` (a dependency that resolves there). Absent: not checked. */
  hasVersionInRange?(name: string, range: string): Promise<boolean>;
}

/** What the pipeline records; the real one is the journal under Nx's cache dir. */
export interface JournalPort {
  /**
   * The run this handle belongs to. Every record a run moves carries its run
   * id (runId below): a record that a resume kept from an earlier run, or one
   * another run wrote, carries another. Absent: records prove nothing, every
   * in-run dependency is confirmed on the registry.
   */
  readonly runId?: string;
  get(name: string): { status: PackageStatus; integrity?: string; stageId?: string; runId?: string } | undefined;
  transition(
    name: string,
    status: PackageStatus,
    patch?: { integrity?: string; error?: { code: string; message: string }; level?: number; skippedReason?: string; stageId?: string },
  ): Promise<unknown>;
}

export interface PackageResult {
  name: string;
  version: string;
  project?: string;
  level: number;
  status: PackageStatus;
  durationMs: number;
  integrity?: string;
  /** A staged run: the registry's stage id of this version. */
  stageId?: string;
  /** Where it differs from the run's (publishConfig, or its own task's options in batch mode): its dist-tag. */
  tag?: string;
  /** Where it differs from the run's: the registry option it was published with. */
  registry?: string;
  note?: string;
  error?: { code: string; message: string; hint?: string };
}

export interface PublishSummary {
  ok: boolean;
  dryRun: boolean;
  /** A staged run: packages were staged, nothing was published. */
  stage?: boolean;
  registry?: string;
  tag: string;
  durationMs: number;
  levels: string[][];
  counts: SummaryCounts;
  packages: PackageResult[];
}
