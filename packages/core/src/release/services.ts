import type { JournalPort, PackedPackage, RegistryPort, ReleasePackage } from '../publish/types';
import type { LockstepError } from '../errors';
import type { AuthMode } from '../registry/oidc';
import type { RecordView } from './run-report';

export interface JournalHandle extends JournalPort {
  /** The run id of the unfinished run this one resumes, if any. */
  resumedFrom?: string;
  /** When this run started (ISO; a resumed run's own start): per-task summaries count from it. */
  startedAt?: string;
  /** Every package of the run is published, skipped, failed or blocked. */
  isComplete(): boolean;
  finish(status: 'done' | 'failed'): Promise<void>;
  all(): RecordView[];
  describeRun?(): unknown;
}

export interface OpenJournalInput {
  runId: string;
  sha: string;
  target: string;
  registry: string;
  packages: Array<{ name: string; version: string }>;
  resume: 'auto' | 'fresh';
  /** Runs under the journal's set-up lock, once per run, before the run is written (see core's openJournal). */
  beforeSetUp?: () => Promise<void>;
  /** How long a task waits for another one setting up the journal (which includes beforeSetUp). */
  lockTimeoutMs?: number;
  /** Join without reading every record (core's openJournal, lazyJoin): per task, each task joins. */
  lazyJoin?: boolean;
}

/** What a registry client is made for: a package's registry (undefined: npm's configuration), retries and OTP. */
export interface RegistrySettings {
  registry?: string;
  retries: number;
  otp?: string;
  auth?: AuthMode;
  provenance?: boolean;
  provenanceFile?: string;
}

/** The outside world of a release run, injectable so the run can be tested without a registry. */
export interface ReleaseServices {
  pack(pkg: ReleasePackage, releaseVersions: Map<string, string>, workspaceVersions: Map<string, string>): Promise<PackedPackage>;
  /** Everything pack would refuse, without making the tarball (G6 preflight): [] when packable; `files: false` checks the manifest and its specs only. */
  checkPack(pkg: ReleasePackage, releaseVersions: ReadonlyMap<string, string>, workspaceVersions: ReadonlyMap<string, string>, scope?: { files: boolean }): Promise<LockstepError[]>;
  /** A registry client for these settings (default: the run's options): one per registry, retries and OTP a run publishes with. */
  createRegistry(settings?: RegistrySettings): Promise<RegistryPort>;
  openJournal(dir: string, input: OpenJournalInput): Promise<JournalHandle>;
  redact(text: string): string;
}
