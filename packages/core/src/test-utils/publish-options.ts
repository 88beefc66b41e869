import type { PublishPackagesOptions } from '../publish/publish-packages';
import type { JournalPort, RegistryPort, ReleasePackage } from '../publish/types';

/**
 * publishPackages options for unit specs: a fake pack (the tarball is the
 * package's name, its integrity `sha512-<name>`), tag latest, 4 at once, a
 * 1 s verification, no log, no redaction; `extra` overrides any of them.
 */
export function fakePublishOptions(
  packages: ReleasePackage[],
  registry: RegistryPort | undefined,
  journal: JournalPort | undefined,
  extra: Partial<PublishPackagesOptions> = {},
): PublishPackagesOptions {
  return {
    packages,
    workspaceVersions: new Map(),
    pack: async (p) => ({ manifest: { name: p.name, version: p.version }, tarball: Buffer.from(p.name), integrity: `sha512-${p.name}` }),
    registry,
    journal,
    tag: 'latest',
    maxConcurrency: 4,
    verifyTimeoutMs: 1000,
    log: () => undefined,
    redact: (t) => t,
    ...extra,
  };
}
