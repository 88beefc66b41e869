import { checkPackage } from '../pack/check-package';
import { createRedactor } from '../registry/redact';
import { createRunOtpPrompt } from '../registry/otp-prompt';
import { systemProcessProbe } from '../lock/process-probe';
import { createRegistryClient } from '../registry/registry-client';
import { openJournal } from '../journal/open-journal';
import { packPackage } from '../pack/pack-package';
import type { RegistryPort } from '../publish/types';
import { maxSatisfying } from 'semver';
import { rmSync } from 'fs';
import { readdirOrEmpty } from '../util/fs';
import * as path from 'path';
import type { ReleaseOptions } from './options';
import { JournalHandle, OpenJournalInput, ReleaseServices } from './services';

/** The real world: npm's libraries against the configured registry, the journal on disk. */
export function createReleaseServices(
  options: ReleaseOptions,
  ctx: {
    workspaceRoot: string;
    cacheDir: string;
    env: NodeJS.ProcessEnv;
    log: (line: string) => void;
    /** Cuts off every registry request at once (a stop's deadline, a second signal). */
    signal?: AbortSignal;
  },
): ReleaseServices {
  const stagingRoot = packStagingRoot(ctx.cacheDir);
  // Every secret seen so far: each registry client (one per registry, retries and OTP of the run) adds its own.
  const secrets: Array<string | undefined> = [options.otp, ctx.env.NODE_AUTH_TOKEN, ctx.env.NPM_TOKEN];
  let redact = createRedactor(secrets);
  // One prompt per run (per process) when a registry answers EOTP and the run has a terminal; the code joins the secrets.
  const askOtp = createRunOtpPrompt({
    question: '[lockstep] The registry asks for a one-time password (2FA) to publish. Enter the code from your authenticator: ',
    onCode: (code) => {
      secrets.push(code);
      redact = createRedactor(secrets);
    },
  });
  return {
    redact: (text) => redact(text),

    async pack(pkg, releaseVersions, workspaceVersions) {
      const packed = await packPackage(pkg.dir, { releaseVersions, workspaceVersions, workspaceRoot: ctx.workspaceRoot, stagingRoot });
      return { manifest: packed.manifest as Record<string, unknown>, tarball: packed.tarball, integrity: packed.integrity };
    },

    async checkPack(pkg, releaseVersions, workspaceVersions, scope) {
      return (await checkPackage(pkg.dir, { releaseVersions, workspaceVersions, workspaceRoot: ctx.workspaceRoot, files: scope?.files })).problems;
    },

    async createRegistry(settings = options): Promise<RegistryPort> {
      const { retries } = settings;
      secrets.push(settings.otp);
      redact = createRedactor(secrets);
      const client = await createRegistryClient({
        cwd: ctx.workspaceRoot,
        env: ctx.env,
        registry: settings.registry,
        retries,
        otp: settings.otp,
        auth: settings.auth,
        askOtp,
        provenance: settings.provenance,
        provenanceFile: settings.provenanceFile,
        onSecret: (secret) => {
          secrets.push(secret);
          redact = createRedactor(secrets);
        },
        signal: ctx.signal,
        onRetry: (info) =>
          ctx.log(
            `${info.name ? `${info.name}: ` : ''}${info.operation ?? 'request'} failed (${info.reason}); retry ${info.attempt} of ${retries} in ${(info.delayMs / 1000).toFixed(1)} s` +
              `${info.retryAfterMs !== undefined ? ` (Retry-After ${(info.retryAfterMs / 1000).toFixed(1)} s)` : ''}`,
          ),
      });
      secrets.push(...client.config.secrets);
      redact = createRedactor(secrets);
      // One credentials check per registry the run publishes to (scoped registries have their own).
      const whoami = new Map<string, Promise<void>>();
      return {
        registry: settings.registry ?? client.config.registry,
        getPublished: (name, version) => client.getPublished(name, version),
        // publishPackages has just asked the registry; the client still re-checks before any retry of a lost upload.
        publish: (manifest, tarball, o) => client.publish(manifest as Record<string, unknown> & { name: string; version: string }, tarball, { ...o, precheck: false }),
        ensureDistTag: (name, version, tag) => client.ensureDistTag(name, version, tag),
        waitUntilVisible: (name, version, integrity, o) => client.waitUntilVisible(name, version, integrity, o),
        stage: (manifest, tarball, o) => client.stage(manifest as Record<string, unknown> & { name: string; version: string }, tarball, o),
        checkCredentials(name) {
          const registry = client.registryFor(name);
          let check = whoami.get(registry);
          if (!check) {
            // Trusted publishing has no credentials to ask about: the CI job's identity is checked instead (tokens come per package).
            check = client.usesTrustedPublishing(registry)
              ? client.checkTrustedPublishing(registry).then((provider) => ctx.log(`${registry}: trusted publishing from ${provider} (a token exchanged per package, just before its upload).`))
              : client.whoami(registry).then((user) => {
                  if (user === undefined) ctx.log(`${registry} has no /-/whoami: the credentials are checked by the first upload.`);
                });
            whoami.set(registry, check);
          }
          return check;
        },
        hasVersionInRange: async (name, range) => maxSatisfying(await client.listVersions(name), range) !== null,
      };
    },

    async openJournal(dir: string, input: OpenJournalInput): Promise<JournalHandle> {
      const opened = await openJournal(dir, input);
      const { journal } = opened;
      return {
        runId: journal.run.runId,
        resumedFrom: journal.run.resumedFrom,
        startedAt: journal.run.startedAt,
        get: (name) => journal.get(name),
        all: () => journal.all(),
        transition: (name, status, patch) => journal.transition(name, status, patch),
        isComplete: () => journal.isComplete(),
        finish: async (status) => void (await journal.finish(status)),
        describeRun: () => ({ runId: journal.run.runId, sha: journal.run.sha, journal: dir }),
      };
    },
  };
}

/**
 * Packing stages each package in `<cacheDir>/lockstep/staging/<pid>`; a
 * SIGKILLed run leaves its folder behind, so folders of dead processes are
 * removed here, before this process packs anything.
 */
function packStagingRoot(cacheDir: string): string {
  const base = path.join(cacheDir, 'lockstep', 'staging');
  for (const name of readdirOrEmpty(base, { emptyWhen: 'unreadable' })) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid !== process.pid && !systemProcessProbe.isAlive(pid)) rmSync(path.join(base, name), { recursive: true, force: true });
  }
  return path.join(base, String(process.pid));
}
