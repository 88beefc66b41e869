import { publishPackages, type PublishPackagesOptions } from './publish-packages';
import { JournalPort, PackageStatus, RegistryPort, ReleasePackage } from './types';
import { fakePublishOptions } from '../test-utils/publish-options';

/**
 * A registry whose first read of chosen packages hangs until released (a
 * pre-check waiting out a Retry-After, say); every other read answers at once.
 */
class SlowFirstReadRegistry implements RegistryPort {
  readonly registry = 'http://fake.test/';
  readonly versions = new Map<string, string>();
  readonly events: string[] = [];
  private readonly held = new Map<string, () => void>();
  constructor(private readonly slow: Set<string>) {}

  async getPublished(name: string, version: string) {
    if (this.slow.delete(name)) {
      this.events.push(`read ${name} (held)`);
      await new Promise<void>((resolve) => this.held.set(name, resolve));
      this.events.push(`read ${name} (released)`);
    } else {
      this.events.push(`read ${name}`);
    }
    const integrity = this.versions.get(`${name}@${version}`);
    return integrity ? { integrity, distTags: {} } : undefined;
  }
  release(name: string) {
    this.held.get(name)?.();
  }
  async publish(manifest: Record<string, unknown>, _tarball: Buffer, options: { integrity: string }) {
    this.events.push(`upload ${manifest.name}`);
    this.versions.set(`${manifest.name}@${manifest.version}`, options.integrity);
    return 'published' as const;
  }
  async ensureDistTag() {
    return false;
  }
  async waitUntilVisible(name: string) {
    this.events.push(`visible ${name}`);
  }
}

const journal = (): JournalPort => {
  const records = new Map<string, { status: PackageStatus; integrity?: string }>();
  return { get: (n) => records.get(n), transition: async (n, status, patch = {}) => void records.set(n, { ...records.get(n), status, ...patch }) };
};

const pkg = (name: string, deps: string[] = []): ReleasePackage => ({ name, version: '1.0.0', dir: `/ws/${name}`, private: false, internalDeps: deps });

/** One slot, a fake pack: each package's pre-check, upload and verification are all that happen. */
const runOptions = (registry: SlowFirstReadRegistry, packages: ReleasePackage[]): PublishPackagesOptions => fakePublishOptions(packages, registry, journal(), { maxConcurrency: 1 });

describe('publishPackages: a late batch pre-check does not set the pace', () => {
  it('a package ready to upload whose pre-check hangs reads the registry itself and goes on; the late answer changes nothing', async () => {
    const registry = new SlowFirstReadRegistry(new Set(['base']));
    const summary = await publishPackages(runOptions(registry, [pkg('base'), pkg('top', ['base'])]));
    const events = [...registry.events];
    registry.release('base');
    expect(summary.counts).toMatchObject({ published: 2, failed: 0 });
    // The run ended while base's pre-check was still held: base's own read answered, and top came after base was visible.
    expect(events.filter((e) => e.startsWith('read base'))).toEqual(['read base (held)', 'read base']);
    expect(events.indexOf('upload top')).toBeGreaterThan(events.indexOf('visible base'));
    expect(events.filter((e) => e.startsWith('upload'))).toEqual(['upload base', 'upload top']);
  });

  it('a version already there is still found when the pre-check is late: skipped, not uploaded', async () => {
    const registry = new SlowFirstReadRegistry(new Set(['base']));
    registry.versions.set('base@1.0.0', 'sha512-base');
    const summary = await publishPackages(runOptions(registry, [pkg('base')]));
    registry.release('base');
    expect(summary.counts).toMatchObject({ skipped: 1, published: 0 });
    expect(registry.events.filter((e) => e.startsWith('upload'))).toEqual([]);
  });
});
