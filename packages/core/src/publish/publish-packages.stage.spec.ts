import { formatSummary } from './format-summary';
import { publishPackages, PublishPackagesOptions } from './publish-packages';
import { JournalPort, PackageStatus, RegistryPort, ReleasePackage } from './types';
import { fakePublishOptions } from '../test-utils/publish-options';

/** An in-memory registry with npm's staging: a stage holds a version back; only live versions are read. */
class StagingRegistry implements RegistryPort {
  readonly registry = 'http://fake.test/';
  readonly live = new Map<string, string>();
  readonly stages = new Map<string, { id: string; integrity: string }>();
  readonly events: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private next = 0;
  async getPublished(name: string, version: string) {
    const integrity = this.live.get(`${name}@${version}`);
    return integrity ? { integrity, distTags: {} } : undefined;
  }
  async publish(): Promise<'published'> {
    throw new Error('a staged run never publishes');
  }
  async ensureDistTag() {
    return false;
  }
  async waitUntilVisible(name: string): Promise<void> {
    throw new Error(`a staged run never waits for ${name} to be visible`);
  }
  async stage(manifest: Record<string, unknown>, tarball: Buffer) {
    const id = `${manifest.name}@${manifest.version}`;
    this.events.push(`stage ${id}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 10));
    this.inFlight--;
    const stageId = `stage-${++this.next}`;
    this.stages.set(id, { id: stageId, integrity: `sha512-${tarball.toString()}` });
    return stageId;
  }
}

class FakeJournal implements JournalPort {
  readonly records = new Map<string, { status: PackageStatus; integrity?: string; stageId?: string }>();
  readonly history: string[] = [];
  async transition(name: string, status: PackageStatus, patch: { integrity?: string; stageId?: string } = {}) {
    this.history.push(`${name} ${status}`);
    this.records.set(name, { ...this.records.get(name), status, ...(patch.integrity ? { integrity: patch.integrity } : {}), ...(patch.stageId ? { stageId: patch.stageId } : {}) });
  }
  get(name: string) {
    return this.records.get(name);
  }
}

const pkg = (name: string, deps: string[] = []): ReleasePackage => ({ name, version: '1.0.0', dir: `/ws/${name}`, private: false, internalDeps: deps });
/** A chain: with dependency order, one at a time; staged, all at once. */
const chain = () => [pkg('a'), pkg('b', ['a']), pkg('c', ['b']), pkg('d', ['c'])];

function options(registry: StagingRegistry, journal: FakeJournal, extra: Partial<PublishPackagesOptions> = {}): PublishPackagesOptions {
  return fakePublishOptions(chain(), registry, journal, { stage: true, ...extra });
}

describe('publishPackages with stage: true', () => {
  it('stages every package at once (no dependency order), publishes nothing, and records and reports each stage id', async () => {
    const registry = new StagingRegistry();
    const journal = new FakeJournal();
    const summary = await publishPackages(options(registry, journal));
    expect(summary).toMatchObject({ ok: true, stage: true, counts: { staged: 4, published: 0, pending: 0 } });
    expect(registry.live.size).toBe(0);
    // A dependency chain staged in parallel: all four in flight together.
    expect(registry.maxInFlight).toBe(4);
    for (const p of summary.packages) {
      expect(p.status).toBe('staged');
      expect(p.stageId).toBe(registry.stages.get(`${p.name}@1.0.0`)!.id);
      expect(journal.get(p.name)).toEqual({ status: 'staged', integrity: `sha512-${p.name}`, stageId: p.stageId });
    }
    // Levels stay the dependency levels (approval goes by them).
    expect(summary.packages.map((p) => `${p.name}:L${p.level}`)).toEqual(['a:L0', 'b:L1', 'c:L2', 'd:L3']);
    expect(journal.history.filter((h) => h.startsWith('a '))).toEqual(['a packing', 'a staging', 'a staged']);
    const table = formatSummary(summary);
    expect(table).toContain('nothing is public until');
    for (const p of summary.packages) expect(table).toContain(`stage ${p.stageId}`);
    expect(table).toContain('0 published, 4 staged');
  });

  it('a resumed run stages neither a version this run staged already (same integrity) nor one already live', async () => {
    const registry = new StagingRegistry();
    const journal = new FakeJournal();
    journal.records.set('a', { status: 'staged', integrity: 'sha512-a', stageId: 'earlier-a' });
    journal.records.set('b', { status: 'staged', integrity: 'sha512-other', stageId: 'earlier-b' });
    registry.live.set('c@1.0.0', 'sha512-c');
    const summary = await publishPackages(options(registry, journal));
    expect(registry.events.sort()).toEqual(['stage b@1.0.0', 'stage d@1.0.0']);
    const byName = new Map(summary.packages.map((p) => [p.name, p]));
    expect(byName.get('a')).toMatchObject({ status: 'staged', stageId: 'earlier-a' });
    expect(byName.get('b')!.stageId).toBe(registry.stages.get('b@1.0.0')!.id);
    expect(byName.get('c')).toMatchObject({ status: 'skipped' });
    expect(summary).toMatchObject({ ok: true, counts: { staged: 3, skipped: 1 } });
  });

  it('a version live with other content is EVERSIONEXISTS for it alone: nothing depends on order when staging', async () => {
    const registry = new StagingRegistry();
    registry.live.set('b@1.0.0', 'sha512-different');
    const summary = await publishPackages(options(registry, new FakeJournal()));
    const byName = new Map(summary.packages.map((p) => [p.name, p]));
    expect(byName.get('b')).toMatchObject({ status: 'failed', error: { code: 'EVERSIONEXISTS' } });
    expect(['a', 'c', 'd'].map((n) => byName.get(n)!.status)).toEqual(['staged', 'staged', 'staged']);
    expect(summary.ok).toBe(false);
  });
});
