import { LockstepError } from '../errors';
import { journalCorruptError } from '../journal/errors';
import { publishPackages, PublishPackagesOptions } from './publish-packages';
import { JournalPort, PackageStatus, RegistryPort, ReleasePackage } from './types';
import { fakePublishOptions } from '../test-utils/publish-options';

/** An in-memory registry that records what happened, in order. */
class FakeRegistry implements RegistryPort {
  readonly registry = 'http://fake.test/';
  readonly versions = new Map<string, string>();
  readonly tags = new Map<string, string>();
  readonly events: string[] = [];
  failPublish = new Map<string, Error>();

  reads = 0;
  async getPublished(name: string, version: string) {
    this.reads++;
    const integrity = this.versions.get(`${name}@${version}`);
    return integrity ? { integrity, distTags: { latest: this.tags.get(name) ?? '' } } : undefined;
  }
  async publish(manifest: Record<string, unknown>, _tarball: Buffer, options: { tag: string; integrity: string }) {
    const id = `${manifest.name}@${manifest.version}`;
    this.events.push(`upload ${id}`);
    const failure = this.failPublish.get(String(manifest.name));
    if (failure) throw failure;
    await new Promise((r) => setTimeout(r, 5));
    this.versions.set(id, options.integrity);
    this.tags.set(String(manifest.name), String(manifest.version));
    return 'published' as const;
  }
  async ensureDistTag(name: string, version: string, _tag?: string) {
    const moved = this.tags.get(name) !== version;
    this.tags.set(name, version);
    return moved;
  }
  async waitUntilVisible(name: string, version: string, integrity: string) {
    if (this.versions.get(`${name}@${version}`) !== integrity) throw new Error(`${name} not visible`);
    this.events.push(`visible ${name}@${version}`);
  }
}

class FakeJournal implements JournalPort {
  readonly records = new Map<string, { status: PackageStatus; integrity?: string }>();
  async transition(name: string, status: PackageStatus, patch: { integrity?: string } = {}) {
    this.records.set(name, { ...this.records.get(name), status, ...(patch.integrity ? { integrity: patch.integrity } : {}) });
  }
  get(name: string) {
    return this.records.get(name);
  }
}

/** A journal that stamps every record it moves with its run's id, as core's journal does. */
class StampingJournal extends FakeJournal {
  declare readonly records: Map<string, { status: PackageStatus; integrity?: string; runId?: string }>;
  constructor(readonly runId: string) {
    super();
  }
  override async transition(name: string, status: PackageStatus, patch: { integrity?: string } = {}) {
    await super.transition(name, status, patch);
    this.records.set(name, { ...this.records.get(name)!, runId: this.runId });
  }
}

const pkg = (name: string, deps: string[] = [], extra: Partial<ReleasePackage> = {}): ReleasePackage => ({
  name,
  version: '1.0.0',
  dir: `/ws/${name}`,
  private: false,
  internalDeps: deps,
  ...extra,
});

function options(packages: ReleasePackage[], registry: FakeRegistry | undefined, journal = new FakeJournal(), extra: Partial<PublishPackagesOptions> = {}): PublishPackagesOptions {
  return fakePublishOptions(packages, registry, journal, { redact: (t) => t.replace(/secret-token/g, '***'), ...extra });
}

const graph = () => [pkg('utils'), pkg('ui', ['utils']), pkg('app', ['ui', 'utils']), pkg('cli', ['utils'])];

describe('publishPackages', () => {
  it('uploads each package once, only after its dependencies are visible with the expected integrity', async () => {
    const registry = new FakeRegistry();
    const journal = new FakeJournal();
    const summary = await publishPackages(options(graph(), registry, journal));
    expect(summary.ok).toBe(true);
    expect(summary.counts).toMatchObject({ published: 4, failed: 0 });
    expect(summary.levels).toEqual([['utils'], ['cli', 'ui'], ['app']]);
    const at = (e: string) => registry.events.indexOf(e);
    expect(registry.events.filter((e) => e.startsWith('upload'))).toHaveLength(4);
    expect(at('upload ui@1.0.0')).toBeGreaterThan(at('visible utils@1.0.0'));
    expect(at('upload app@1.0.0')).toBeGreaterThan(at('visible ui@1.0.0'));
    expect([...journal.records.values()].every((r) => r.status === 'published')).toBe(true);
  });

  it('asks the registry about each package once, up front, in a batch run', async () => {
    const registry = new FakeRegistry();
    await publishPackages(options(graph(), registry));
    expect(registry.reads).toBe(4);
  });

  it('slow pre-checks (a registry answering reads slowly) keep packed tarballs and reads bounded: 120 packages, concurrency 4, reads of 400 ms', async () => {
    // A package lends its slot out while its pre-check is answered; it packs only afterwards, and at most
    // `maxConcurrency` slots are lent out, so the packed-but-not-uploaded tarballs stay within twice the concurrency.
    const registry = new FakeRegistry();
    let inFlight = 0;
    let peakReads = 0;
    const read = registry.getPublished.bind(registry);
    registry.getPublished = async (name: string, version: string) => {
      peakReads = Math.max(peakReads, ++inFlight);
      await new Promise((r) => setTimeout(r, 400));
      inFlight--;
      return read(name, version);
    };
    let held = 0;
    let peakHeld = 0;
    const publish = registry.publish.bind(registry);
    registry.publish = async (manifest, tarball, o) => {
      try {
        return await publish(manifest, tarball, o);
      } finally {
        held--;
      }
    };
    const packages = Array.from({ length: 120 }, (_, i) => pkg(`p${i}`));
    const summary = await publishPackages(
      options(packages, registry, new FakeJournal(), {
        pack: async (p) => {
          peakHeld = Math.max(peakHeld, ++held);
          return { manifest: { name: p.name, version: p.version }, tarball: Buffer.from(p.name), integrity: `sha512-${p.name}` };
        },
      }),
    );
    expect(summary.counts).toMatchObject({ published: 120, failed: 0 });
    expect(peakHeld).toBeLessThanOrEqual(8);
    // The run's 16 pre-check reads plus at most one own read per lent slot.
    expect(peakReads).toBeLessThanOrEqual(16 + 4);
  }, 60_000);

  it('frees the upload slot during verification: a second upload starts before the first is verified', async () => {
    const registry = new FakeRegistry();
    const realWait = registry.waitUntilVisible.bind(registry);
    registry.waitUntilVisible = async (name, version, integrity) => {
      await new Promise((r) => setTimeout(r, 30));
      return realWait(name, version, integrity);
    };
    await publishPackages(options([pkg('a'), pkg('b'), pkg('c', ['a'])], registry, new FakeJournal(), { maxConcurrency: 1 }));
    const at = (e: string) => registry.events.indexOf(e);
    expect(at('upload b@1.0.0')).toBeLessThan(at('visible a@1.0.0'));
    expect(at('upload c@1.0.0')).toBeGreaterThan(at('visible a@1.0.0'));
  });

  it('skips versions already on the registry with the same integrity and repairs the dist-tag', async () => {
    const registry = new FakeRegistry();
    registry.versions.set('utils@1.0.0', 'sha512-utils');
    registry.tags.set('utils', '0.9.0');
    const summary = await publishPackages(options([pkg('utils')], registry));
    expect(summary.packages[0]).toMatchObject({ status: 'skipped', note: expect.stringContaining('dist-tag latest repaired') });
    expect(registry.events).not.toContain('upload utils@1.0.0');
    expect(registry.tags.get('utils')).toBe('1.0.0');
  });

  it('fails EVERSIONEXISTS for other content, blocks its dependents and lets independent branches go on', async () => {
    const registry = new FakeRegistry();
    registry.versions.set('ui@1.0.0', 'sha512-something-else');
    const journal = new FakeJournal();
    const summary = await publishPackages(options(graph(), registry, journal));
    const by = Object.fromEntries(summary.packages.map((p) => [p.name, p]));
    expect(by.ui).toMatchObject({ status: 'failed', error: { code: 'EVERSIONEXISTS', hint: expect.stringContaining('bump the version') } });
    expect(by.app).toMatchObject({ status: 'blocked', note: 'blocked by ui' });
    expect(by.cli.status).toBe('published');
    expect(journal.get('app')?.status).toBe('blocked');
    expect(summary.ok).toBe(false);
  });

  it('skips private packages', async () => {
    const summary = await publishPackages(options([pkg('internal', [], { private: true })], new FakeRegistry()));
    expect(summary.packages[0]).toMatchObject({ status: 'skipped', note: 'private' });
    expect(summary.ok).toBe(true);
  });

  it('touches nothing remote and records nothing in a dry run', async () => {
    const journal = new FakeJournal();
    const summary = await publishPackages(options(graph(), undefined, journal));
    expect(summary).toMatchObject({ ok: true, dryRun: true, counts: { pending: 4 } });
    expect(journal.records.size).toBe(0);
  });

  it('redacts secrets from failures before showing or storing them', async () => {
    const registry = new FakeRegistry();
    registry.failPublish.set('utils', new LockstepError('EAUTH', 'token secret-token was refused', { hint: 'check secret-token' }));
    const lines: string[] = [];
    const summary = await publishPackages(options([pkg('utils')], registry, new FakeJournal(), { log: (l) => lines.push(l) }));
    expect(JSON.stringify(summary)).not.toContain('secret-token');
    expect(lines.join('\n')).not.toContain('secret-token');
    expect(summary.packages[0].error).toMatchObject({ code: 'EAUTH', message: 'token *** was refused' });
  });

  describe('per-task mode (only)', () => {
    it('confirms in-run dependencies from the journal and the registry before uploading', async () => {
      const registry = new FakeRegistry();
      const journal = new FakeJournal();
      await publishPackages(options(graph(), registry, journal, { only: new Set(['utils']) }));
      const summary = await publishPackages(options(graph(), registry, journal, { only: new Set(['ui']) }));
      expect(summary.packages.map((p) => [p.name, p.status])).toEqual([['ui', 'published']]);
    });

    it("trusts a dependency this run's own task settled (its record carries the run's id) without asking the registry again", async () => {
      const registry = new FakeRegistry();
      const journal = new StampingJournal('run-1');
      await publishPackages(options(graph(), registry, journal, { only: new Set(['utils']) }));
      expect(journal.records.get('utils')).toMatchObject({ status: 'published', runId: 'run-1' });
      registry.events.length = 0;
      const reads = registry.reads;
      const summary = await publishPackages(options(graph(), registry, journal, { only: new Set(['ui']) }));
      expect(summary.packages.map((p) => [p.name, p.status])).toEqual([['ui', 'published']]);
      // ui's own pre-check and verification only: utils is neither read nor waited for.
      expect(registry.events).toEqual(['upload ui@1.0.0', 'visible ui@1.0.0']);
      expect(registry.reads).toBe(reads + 1);
    });

    it.each([
      ['a resume kept from an earlier run', 'run-0'],
      ['a journal without run ids', undefined],
    ])('confirms on the registry a dependency whose record %s settled, and blocks its dependent when the registry does not have it', async (_what, runId) => {
      const registry = new FakeRegistry();
      const journal = new StampingJournal('run-1');
      journal.records.set('utils', { status: 'published', integrity: 'sha512-utils', ...(runId ? { runId } : {}) });
      const summary = await publishPackages(options(graph(), registry, journal, { only: new Set(['ui']) }));
      expect(summary.packages).toEqual([expect.objectContaining({ name: 'ui', status: 'blocked' })]);
      expect(registry.events).toEqual([]);
      registry.versions.set('utils@1.0.0', 'sha512-utils');
      const again = await publishPackages(options(graph(), registry, journal, { only: new Set(['ui']) }));
      expect(again.packages.map((p) => [p.name, p.status])).toEqual([['ui', 'published']]);
      expect(registry.events).toEqual(['visible utils@1.0.0', 'upload ui@1.0.0', 'visible ui@1.0.0']);
    });

    it('blocks a package whose dependency this run did not publish', async () => {
      const registry = new FakeRegistry();
      const summary = await publishPackages(options(graph(), registry, new FakeJournal(), { only: new Set(['ui']) }));
      expect(summary.packages).toEqual([expect.objectContaining({ name: 'ui', status: 'blocked', note: 'blocked by utils' })]);
      expect(registry.events).toEqual([]);
    });

    it('a dependency whose journal record cannot be read blocks its dependent with the journal error, not as "not published by this run"', async () => {
      const registry = new FakeRegistry();
      const journal = new FakeJournal();
      const corrupt = journalCorruptError('/journal/packages/utils.json', 'it is not valid JSON (Unexpected end of JSON input)');
      journal.get = (name: string) => {
        if (name === 'utils') throw corrupt;
        return journal.records.get(name);
      };
      const lines: string[] = [];
      const summary = await publishPackages(options(graph(), registry, journal, { only: new Set(['ui']), log: (line) => lines.push(line) }));
      expect(summary.ok).toBe(false);
      expect(summary.packages).toEqual([
        expect.objectContaining({ name: 'ui', status: 'blocked', error: { code: 'EJOURNALCORRUPT', message: corrupt.message, hint: corrupt.hint } }),
      ]);
      expect(lines.join('\n')).toContain(`ui@1.0.0 blocked: utils could not be confirmed: [EJOURNALCORRUPT] ${corrupt.message}`);
      expect(lines.join('\n')).not.toContain('not published by this run');
      expect(journal.records.get('ui')).toMatchObject({ status: 'blocked' });
      expect(registry.events).toEqual([]);
    });
  });

  it('waits for an in-run dependency that Nx ran side by side, instead of blocking at once', async () => {
    const registry = new FakeRegistry();
    const journal = new FakeJournal();
    await journal.transition('utils', 'publishing');
    const dependent = publishPackages(options(graph(), registry, journal, { only: new Set(['ui']) }));
    await new Promise((r) => setTimeout(r, 100));
    await publishPackages(options(graph(), registry, journal, { only: new Set(['utils']) }));
    const summary = await dependent;
    expect(summary.packages.map((p) => [p.name, p.status])).toEqual([['ui', 'published']]);
  });

  it('refuses to publish against a workspace dependency outside the run that is not on the registry (EWORKSPACEDEP)', async () => {
    const registry = new FakeRegistry();
    const summary = await publishPackages(
      options([pkg('ui', ['utils'])], registry, new FakeJournal(), { workspaceVersions: new Map([['utils', '1.0.0']]) }),
    );
    expect(summary.packages[0]).toMatchObject({ status: 'failed', error: { code: 'EWORKSPACEDEP' } });
    expect(registry.events).toEqual([]);
    registry.versions.set('utils@1.0.0', 'sha512-utils');
    const again = await publishPackages(options([pkg('ui', ['utils'])], registry, new FakeJournal(), { workspaceVersions: new Map([['utils', '1.0.0']]) }));
    expect(again.packages[0].status).toBe('published');
  });

  it('starts no new package after being asked to stop, and a package not yet uploading does not begin its upload; the rest stay pending, none blocked', async () => {
    let stop = false;
    const registry = new FakeRegistry();
    const journal = new FakeJournal();
    const summary = await publishPackages(
      options(graph(), registry, journal, {
        maxConcurrency: 1,
        shouldStop: () => stop,
        pack: async (p) => {
          stop = true;
          return { manifest: { name: p.name, version: p.version }, tarball: Buffer.from(p.name), integrity: `sha512-${p.name}` };
        },
      }),
    );
    expect(registry.events.filter((e) => e.startsWith('upload'))).toEqual([]);
    expect(summary.packages.find((p) => p.name === 'utils')).toMatchObject({ status: 'pending', note: 'stopped: not uploaded' });
    expect(summary.counts).toMatchObject({ pending: 4, blocked: 0, failed: 0 });
    expect([...journal.records.values()].filter((r) => r.status === 'blocked' || r.status === 'failed')).toEqual([]);
    expect(journal.records.get('utils')?.status).toBe('pending');
    expect(summary.ok).toBe(false);
  });

  it('a stop while an upload is in flight lets it finish; then nothing else starts', async () => {
    let stop = false;
    const registry = new FakeRegistry();
    const publish = registry.publish.bind(registry);
    registry.publish = async (...args: Parameters<FakeRegistry['publish']>) => {
      stop = true;
      return publish(...args);
    };
    const summary = await publishPackages(options(graph(), registry, new FakeJournal(), { maxConcurrency: 1, shouldStop: () => stop }));
    expect(summary.packages.find((p) => p.name === 'utils')?.status).toBe('published');
    expect(summary.counts).toMatchObject({ published: 1, pending: 3, blocked: 0, failed: 0 });
  });

  it('the stop\'s abort cuts off an upload in flight at once: pending (the journal keeps it publishing for the next run), never failed, dependents not blocked', async () => {
    const registry = new FakeRegistry();
    const journal = new FakeJournal();
    const abort = new AbortController();
    // An upload that never answers, cut off the way the registry client does it: rejected when the signal aborts.
    registry.publish = () =>
      new Promise<never>((_resolve, reject) => {
        abort.signal.addEventListener('abort', () => reject(abort.signal.reason));
        setTimeout(() => abort.abort(new Error('cut off')), 5);
      });
    const summary = await publishPackages(options(graph(), registry, journal, { maxConcurrency: 1, shouldStop: () => abort.signal.aborted, signal: abort.signal }));
    expect(summary.packages.find((p) => p.name === 'utils')).toMatchObject({ status: 'pending', note: expect.stringMatching(/^stopped: cut off in flight/) });
    expect(summary.counts).toMatchObject({ pending: 4, blocked: 0, failed: 0 });
    expect(journal.records.get('utils')?.status).toBe('publishing');
  });
});

describe('publishPackages: cycles, per-package settings, versions expected on the registry', () => {
  // base ← a ⇄ b ← app
  const cyclic = () => [pkg('base'), pkg('a', ['b', 'base']), pkg('b', ['a']), pkg('app', ['a'])];

  it('publishes the members of a cycle once each, after what the cycle depends on, and verifies both before their dependent uploads', async () => {
    const registry = new FakeRegistry();
    const journal = new FakeJournal();
    const lines: string[] = [];
    const summary = await publishPackages(options(cyclic(), registry, journal, { log: (l) => lines.push(l) }));
    expect(summary.ok).toBe(true);
    expect(summary.counts).toMatchObject({ published: 4, failed: 0, blocked: 0 });
    const uploads = registry.events.filter((e) => e.startsWith('upload'));
    expect(uploads.sort()).toEqual(['upload a@1.0.0', 'upload app@1.0.0', 'upload b@1.0.0', 'upload base@1.0.0']);
    const at = (e: string) => registry.events.indexOf(e);
    expect(at('upload a@1.0.0')).toBeGreaterThan(at('visible base@1.0.0'));
    expect(at('upload b@1.0.0')).toBeGreaterThan(at('visible base@1.0.0'));
    expect(at('upload app@1.0.0')).toBeGreaterThan(at('visible a@1.0.0'));
    expect(at('upload app@1.0.0')).toBeGreaterThan(at('visible b@1.0.0'));
    expect(summary.levels).toEqual([['base'], ['a', 'b'], ['app']]);
  });

  it('cycles: "error" refuses the cycle with ECYCLE before anything is uploaded', async () => {
    const registry = new FakeRegistry();
    await expect(publishPackages(options(cyclic(), registry, new FakeJournal(), { cycles: 'error' }))).rejects.toMatchObject({ code: 'ECYCLE' });
    expect(registry.events).toEqual([]);
  });

  it('per task: a member of a cycle does not wait for the other member (which Nx may run after it); a dependent waits for both', async () => {
    const registry = new FakeRegistry();
    const journal = new FakeJournal();
    registry.versions.set('base@1.0.0', 'sha512-base');
    await journal.transition('base', 'published', { integrity: 'sha512-base' });
    const first = await publishPackages(options(cyclic(), registry, journal, { only: new Set(['a']), verifyTimeoutMs: 200 }));
    expect(first.packages).toEqual([expect.objectContaining({ name: 'a', status: 'published' })]);
    const second = await publishPackages(options(cyclic(), registry, journal, { only: new Set(['b']), verifyTimeoutMs: 200 }));
    expect(second.packages).toEqual([expect.objectContaining({ name: 'b', status: 'published' })]);
    const dependent = await publishPackages(options(cyclic(), registry, journal, { only: new Set(['app']) }));
    expect(dependent.packages).toEqual([expect.objectContaining({ name: 'app', status: 'published' })]);
    const at = (e: string) => registry.events.lastIndexOf(e);
    expect(at('upload app@1.0.0')).toBeGreaterThan(at('visible a@1.0.0'));
    expect(at('upload app@1.0.0')).toBeGreaterThan(at('visible b@1.0.0'));
  });

  it('per-package settings: each package is uploaded and dist-tagged with its own tag, access and OTP; others get the run default', async () => {
    const registry = new FakeRegistry();
    const sent: Array<{ name: unknown; tag: string; access?: string; otp?: string }> = [];
    const publish = registry.publish.bind(registry);
    registry.publish = async (manifest, tarball, o) => {
      sent.push({ name: manifest.name, tag: o.tag, access: (o as { access?: string }).access, otp: (o as { otp?: string }).otp });
      return publish(manifest, tarball, o);
    };
    const tagged: string[] = [];
    registry.versions.set('old@1.0.0', 'sha512-old');
    registry.tags.set('old', '0.9.0');
    registry.ensureDistTag = async (name, _version, tag) => {
      tagged.push(`${name} ${tag}`);
      return true;
    };
    const settings = new Map([
      ['a', { tag: 'next', access: 'restricted', otp: '000123' }],
      ['old', { tag: 'beta' }],
    ]);
    const summary = await publishPackages(options([pkg('a'), pkg('b'), pkg('old')], registry, new FakeJournal(), { settings, tag: 'latest', access: 'public', otp: '999999' }));
    expect(summary.ok).toBe(true);
    expect(sent.sort((x, y) => String(x.name).localeCompare(String(y.name)))).toEqual([
      { name: 'a', tag: 'next', access: 'restricted', otp: '000123' },
      { name: 'b', tag: 'latest', access: 'public', otp: '999999' },
    ]);
    expect(tagged).toEqual(['old beta']);
    expect(summary.packages.find((p) => p.name === 'old')!.note).toContain('dist-tag beta repaired');
  });

  it('a version expected on the registry already is never packed or uploaded: confirmed and skipped, dist-tags untouched; its dependents go on', async () => {
    const registry = new FakeRegistry();
    registry.versions.set('kept@1.0.0', 'sha512-registry-copy');
    registry.tags.set('kept', '1.0.0');
    const packed: string[] = [];
    registry.ensureDistTag = async () => {
      throw new Error('must not touch the dist-tags of a version nx release did not bump');
    };
    const summary = await publishPackages(
      options([pkg('kept', [], { expectPublished: 'not bumped by nx release' }), pkg('user', ['kept'])], registry, new FakeJournal(), {
        pack: async (p) => {
          packed.push(p.name);
          return { manifest: { name: p.name, version: p.version }, tarball: Buffer.from(p.name), integrity: `sha512-${p.name}` };
        },
      }),
    );
    expect(summary.ok).toBe(true);
    expect(packed).toEqual(['user']);
    expect(summary.packages.find((p) => p.name === 'kept')).toMatchObject({ status: 'skipped', note: 'not bumped by nx release; already on http://fake.test/' });
    expect(registry.events.filter((e) => e.startsWith('upload'))).toEqual(['upload user@1.0.0']);
  });

  it('a version expected on the registry that is not there fails (EWORKSPACEDEP) and blocks its dependents; nothing is uploaded for it', async () => {
    const registry = new FakeRegistry();
    const summary = await publishPackages(options([pkg('kept', [], { expectPublished: 'not bumped by nx release' }), pkg('user', ['kept'])], registry));
    expect(summary.ok).toBe(false);
    expect(summary.packages.find((p) => p.name === 'kept')).toMatchObject({ status: 'failed', error: { code: 'EWORKSPACEDEP' } });
    expect(summary.packages.find((p) => p.name === 'user')).toMatchObject({ status: 'blocked' });
    expect(registry.events).toEqual([]);
  });
});
