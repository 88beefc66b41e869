import type { PublishSummary, ReleasePackage } from '../publish/types';
import { RecordView, runSummaryFromRecords, unreachablePackages } from './run-report';

const pkg = (name: string, deps: string[] = []): ReleasePackage => ({ name, version: '1.0.0', dir: `/ws/${name}`, private: false, internalDeps: deps, project: name });
const base: PublishSummary = {
  ok: true,
  dryRun: false,
  registry: 'http://registry.test/',
  tag: 'latest',
  durationMs: 1,
  levels: [['a', 'b'], ['c']],
  counts: { published: 0, staged: 0, skipped: 0, failed: 0, blocked: 0, pending: 0 },
  packages: [],
};
const at = (s: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + s * 1000).toISOString();

describe('runSummaryFromRecords: the table of a per-task run, timed from this run', () => {
  it('a resumed run counts from its own start: the total and each row, never from the interrupted run', () => {
    // The interrupted run started at 0 s; this run (the resume) at 100 s and is reported at 108.7 s.
    const records: RecordView[] = [
      { name: 'a', version: '1.0.0', status: 'skipped', level: 0, startedAt: at(101), updatedAt: at(102), skippedReason: 'already on the registry' },
      { name: 'b', version: '1.0.0', status: 'published', level: 0, startedAt: at(3), updatedAt: at(20) },
      { name: 'c', version: '1.0.0', status: 'published', level: 1, startedAt: at(104), updatedAt: at(107.5) },
    ];
    const summary = runSummaryFromRecords(base, records, [pkg('a'), pkg('b'), pkg('c')], at(100), Date.parse(at(108.7)));
    expect(summary.durationMs).toBe(8700);
    expect(summary.packages.map((p) => [p.name, p.status, p.durationMs, p.note])).toEqual([
      ['a', 'skipped', 1000, 'already on the registry'],
      // Published by the interrupted run and not moved since: no time of this run.
      ['b', 'published', 0, 'from the interrupted run'],
      ['c', 'published', 3500, undefined],
    ]);
    expect(summary.counts).toEqual({ published: 2, staged: 0, skipped: 1, failed: 0, blocked: 0, pending: 0 });
    expect(summary.ok).toBe(true);
  });

  it('a record whose start is older than the run (a journal written before starts were reset) is timed from the run\'s start', () => {
    const records: RecordView[] = [{ name: 'a', version: '1.0.0', status: 'skipped', startedAt: at(1), updatedAt: at(105) }];
    expect(runSummaryFromRecords(base, records, [pkg('a')], at(100), Date.parse(at(110))).packages[0].durationMs).toBe(5000);
  });

  it('in flight and pending count as pending, the run is not ok; levels come from the plan when a record has none', () => {
    const records: RecordView[] = [
      { name: 'a', version: '1.0.0', status: 'publishing', startedAt: at(1), updatedAt: at(2) },
      { name: 'c', version: '1.0.0', status: 'pending', updatedAt: at(0) },
    ];
    const summary = runSummaryFromRecords(base, records, [pkg('a'), pkg('c')], at(0), Date.parse(at(3)));
    expect(summary.counts.pending).toBe(2);
    expect(summary.ok).toBe(false);
    expect(summary.packages.map((p) => [p.name, p.level, p.note])).toEqual([
      ['a', 0, 'in flight when the run stopped: the next run checks the registry first'],
      ['c', 1, undefined],
    ]);
  });
});

describe('unreachablePackages: what Nx will never run once a dependency failed', () => {
  const rec = (name: string, status: RecordView['status']): RecordView => ({ name, version: '1.0.0', status });
  const deps = new Map<string, string[]>([
    ['utils', []],
    ['config', []],
    ['core', ['utils', 'config']],
    ['ui', ['core']],
    ['cli', ['core']],
    ['solo', ['config']],
  ]);

  it('undefined while a package may still be published (in flight, or pending with no failed dependency)', () => {
    expect(unreachablePackages([rec('utils', 'failed'), rec('config', 'publishing'), rec('core', 'pending'), rec('ui', 'pending')], deps)).toBeUndefined();
    expect(unreachablePackages([rec('utils', 'failed'), rec('config', 'published'), rec('core', 'pending'), rec('solo', 'pending')], deps)).toBeUndefined();
  });

  it('once nothing can run: every open package with the failed or blocked package that keeps it from running (transitively)', () => {
    expect(unreachablePackages([rec('utils', 'failed'), rec('config', 'published'), rec('core', 'pending'), rec('ui', 'pending'), rec('cli', 'pending'), rec('solo', 'published')], deps)).toEqual([
      { name: 'core', cause: 'utils' },
      { name: 'ui', cause: 'utils' },
      { name: 'cli', cause: 'utils' },
    ]);
    expect(unreachablePackages([rec('utils', 'published'), rec('config', 'published'), rec('core', 'blocked'), rec('ui', 'pending')], deps)).toEqual([{ name: 'ui', cause: 'core' }]);
  });

  it('[] for a run with nothing open; a cycle among open packages does not hang', () => {
    expect(unreachablePackages([rec('utils', 'failed'), rec('config', 'published')], deps)).toEqual([]);
    const cyclic = new Map([
      ['x', ['y']],
      ['y', ['x']],
    ]);
    expect(unreachablePackages([rec('x', 'pending'), rec('y', 'pending')], cyclic)).toBeUndefined();
  });
});
