/**
 * The publish executor of @lockstep/nx end to end: the real nx binary (from
 * the template of global-setup.ts), a real Verdaccio behind the fault proxy
 * (tools/registry), workspaces of 6 packages in 3 levels (see sixPackages in
 * utils/publish-workspace.ts). Assertions read what the proxy saw (every
 * upload, with its timing and answer) and what Verdaccio serves (packuments
 * and tarballs, read directly), not only exit codes.
 *
 * Crashes, the journal and commits: publish-crash.spec.ts. Registry faults
 * and concurrent runs: publish-faults.spec.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { listFiles } from '../../../tools/scripts/workspace';
import { expectFailure, expectSuccess } from './utils/temp-workspace';
import {
  PublishRegistry,
  PublishWorkspace,
  expectDependencyOrder,
  expectEveryVersionOnce,
  expectRealManifests,
  localSpecs,
  proxyNerfDart,
  show,
  summaryCounts,
  usePublishSuite,
} from './utils/publish-workspace';

jest.setTimeout(240_000);

let reg: PublishRegistry;
const workspace = usePublishSuite((started) => (reg = started));

describe('nx run-many -t publish, per-task mode', () => {
  it('publishes 6 packages in 3 levels once each, dependencies first, with real versions in the manifests; a second run uploads nothing', async () => {
    const pws = await workspace('happy');
    const first = await pws.publish(['--summaryFile=dist/summary.json']);
    show('first run', first);
    expectSuccess(first, 'the first nx run-many -t publish');

    // Every public version uploaded exactly once, the private package never, dependencies first.
    expectEveryVersionOnce(pws, pws.uploads());
    expectDependencyOrder(pws, pws.uploads());
    await expectRealManifests(pws);
    expect(first.output).toMatch(new RegExp(`\\[L1\\] ${pws.name('internal')}@1\\.0\\.0 skipped: private`));
    for (const short of pws.publicShorts) expect(first.output).toMatch(new RegExp(`${pws.name(short)}@1\\.0\\.0 published in \\d+ ms`));

    // The task that completes the run reports the whole run, on the terminal and in summaryFile.
    expect(summaryCounts(first.output).at(-1)).toEqual({ published: 5, skipped: 1, failed: 0, blocked: 0 });
    const summary = JSON.parse(fs.readFileSync(pws.ws.path('dist/summary.json'), 'utf8'));
    expect(summary).toMatchObject({ ok: true, counts: { published: 5, skipped: 1, failed: 0, blocked: 0, pending: 0 } });
    expect(summary.packages).toHaveLength(6);

    const journal = pws.readJournal();
    expect(journal.run).toMatchObject({ status: 'done', sha: pws.head(), target: 'publish' });
    expect(Object.keys(journal.records).sort()).toEqual(pws.shorts.map((s) => pws.name(s)).sort());
    for (const short of pws.shorts) expect(journal.records[pws.name(short)].status).toBe(short === 'internal' ? 'skipped' : 'published');

    // The same command again: a no-op.
    const uploadsBefore = pws.uploads().length;
    const second = await pws.publish();
    show('second run', second);
    expectSuccess(second, 'the second nx run-many -t publish');
    expect(pws.uploads()).toHaveLength(uploadsBefore);
    for (const short of pws.publicShorts) expect(second.output).toMatch(new RegExp(`${pws.name(short)}@1\\.0\\.0 skipped: already on `));
    expect(second.output).not.toMatch(/ publishing$/m);
    expect(summaryCounts(second.output).at(-1)).toEqual({ published: 0, skipped: 6, failed: 0, blocked: 0 });
  });
});

describe('dependencies Nx does not see', () => {
  it('per task, a package that depends on another only through link: is published after it (Nx draws no edge for link:)', async () => {
    const pws = await workspace('link', {
      specs: [{ short: 'base' }, { short: 'linked', dependencies: { base: 'link:../base' } }, { short: 'filed', dependencies: { base: 'file:../base' } }],
    });
    const result = await pws.publish();
    show('link:', result);
    expectSuccess(result, 'nx run-many -t publish with a link: dependency');
    expectEveryVersionOnce(pws, pws.uploads());
    expectDependencyOrder(pws, pws.uploads());
    await expectRealManifests(pws);
  });
});

describe('nx run-many -t publish --batch', () => {
  it('publishes every version once in dependency order, writes summaryFile, and a second run skips everything', async () => {
    const pws = await workspace('batch');
    const summaryFile = 'dist/publish-summary.json';
    const first = await pws.publish(['--batch', `--summaryFile=${summaryFile}`]);
    show('batch run', first);
    expectSuccess(first, 'nx run-many -t publish --batch');
    expectEveryVersionOnce(pws, pws.uploads());
    expectDependencyOrder(pws, pws.uploads());
    await expectRealManifests(pws);
    expect(first.output).toMatch(/Plan: 6 packages in 3 levels/);
    expect(summaryCounts(first.output)).toEqual([{ published: 5, skipped: 1, failed: 0, blocked: 0 }]);

    const summary = JSON.parse(fs.readFileSync(pws.ws.path(summaryFile), 'utf8'));
    expect(summary).toMatchObject({ schema_version: 1, ok: true, dryRun: false, tag: 'latest', counts: { published: 5, skipped: 1, failed: 0, blocked: 0, pending: 0 } });
    expect(summary.packages.map((p: { name: string; status: string }) => `${p.name}:${p.status}`).sort()).toEqual(
      pws.shorts.map((s) => `${pws.name(s)}:${s === 'internal' ? 'skipped' : 'published'}`).sort(),
    );
    expect(summary.levels).toEqual([
      [pws.name('config'), pws.name('utils')],
      [pws.name('core'), pws.name('internal')],
      [pws.name('cli'), pws.name('ui')],
    ]);

    const uploadsBefore = pws.uploads().length;
    const second = await pws.publish(['--batch', `--summaryFile=${summaryFile}`]);
    expectSuccess(second, 'the second nx run-many -t publish --batch');
    expect(pws.uploads()).toHaveLength(uploadsBefore);
    expect(summaryCounts(second.output)).toEqual([{ published: 0, skipped: 6, failed: 0, blocked: 0 }]);
    const again = JSON.parse(fs.readFileSync(pws.ws.path(summaryFile), 'utf8'));
    expect(again.counts).toEqual({ published: 0, staged: 0, skipped: 6, failed: 0, blocked: 0, pending: 0 });
  });
});

describe('bad input: a clear error with a stable code and a hint, and nothing lost', () => {
  it('a wrong token: EAUTH before any upload (G6), with a hint, and the token appears in no output or journal file', async () => {
    const pws = await workspace('badtoken');
    const wrongToken = `lockstep-e2e-wrong-token-${Math.random().toString(36).slice(2)}`;
    pws.writeNpmrc(wrongToken);
    expect(fs.readFileSync(pws.ws.path('.npmrc'), 'utf8')).toContain(`${proxyNerfDart(reg)}:_authToken=${wrongToken}`);

    const result = await pws.publish();
    show('bad token', result);
    expectFailure(result, 'nx run-many -t publish with a wrong token');
    expect(result.output).toMatch(/\[EPREFLIGHT\]/);
    expect(result.output).toMatch(/\[EAUTH\]/);
    expect(result.output).toMatch(/Hint: .+/);

    // The credentials were checked before the first upload: not one PUT, nothing published, no run recorded.
    expect(pws.requests().filter((r) => r.method === 'PUT')).toEqual([]);
    for (const short of pws.publicShorts) expect(await reg.packument(pws.name(short))).toBeUndefined();
    expect(pws.readJournal()).toMatchObject({ run: undefined, records: {} });

    // The secret is nowhere: not in the output, not in a journal file (and neither is the real token).
    const journal = { ...pws.journalFiles() };
    expect(Object.keys(journal).length).toBeGreaterThan(0);
    // The lock files too (G5): whatever the release lock left in LOCKSTEP_LOCK_DIR.
    for (const file of listFiles(pws.lockDir)) journal[`lock dir: ${file}`] = fs.readFileSync(path.join(pws.lockDir, file), 'utf8');
    for (const secret of [wrongToken, reg.registry.token]) {
      expect(result.output.includes(secret)).toBe(false);
      for (const [file, text] of Object.entries(journal)) expect({ file, leaks: text.includes(secret) }).toEqual({ file, leaks: false });
    }
  });

  it('a version already on the registry with other content: EVERSIONEXISTS with a hint to bump, dependents blocked, independent packages still published', async () => {
    const pws = await workspace('exists');
    expectSuccess(await pws.publish(['--batch']), 'the first release (1.0.0)');
    // utils changes but keeps 1.0.0; everything else moves to 1.0.1.
    pws.setVersion('1.0.1', pws.shorts.filter((s) => s !== 'utils'));
    fs.writeFileSync(pws.ws.path('packages/utils/lib/index.js'), "exports.utils = 'utils, changed without a version bump';\n");
    pws.commit('change utils without bumping it');
    const uploadsBefore = pws.uploads().length;

    const batch = await pws.publish(['--batch', '--summaryFile=dist/summary.json']);
    show('EVERSIONEXISTS, batch', batch);
    expectFailure(batch, 'nx run-many -t publish --batch over a changed 1.0.0');
    const utils = `${pws.name('utils')}@1.0.0`;
    expect(batch.output).toMatch(new RegExp(`${utils} failed: \\[EVERSIONEXISTS\\] .*\\n.*Hint: .*bump`, 'i'));
    for (const short of ['core', 'internal', 'ui', 'cli']) expect(batch.output).toMatch(new RegExp(`${pws.name(short)}@1\\.0\\.1 blocked`));
    expect(batch.output).toMatch(new RegExp(`${pws.name('config')}@1\\.0\\.1 published in`));
    expect(summaryCounts(batch.output)).toEqual([{ published: 1, skipped: 0, failed: 1, blocked: 4 }]);
    const summary = JSON.parse(fs.readFileSync(pws.ws.path('dist/summary.json'), 'utf8'));
    expect(summary.ok).toBe(false);
    expect(Object.fromEntries(summary.packages.map((p: { name: string; status: string }) => [p.name, p.status]))).toEqual({
      [pws.name('utils')]: 'failed',
      [pws.name('config')]: 'published',
      [pws.name('core')]: 'blocked',
      [pws.name('internal')]: 'blocked',
      [pws.name('ui')]: 'blocked',
      [pws.name('cli')]: 'blocked',
    });

    // Only config@1.0.1 went up; the registry still serves the first utils@1.0.0.
    expect(pws.uploads().slice(uploadsBefore).map((u) => `${u.name}@${u.version}:${u.status}`)).toEqual([`${pws.name('config')}@1.0.1:201`]);
    const { files } = await reg.tarball(pws.name('utils'), '1.0.0');
    expect(files).toContain('lib/index.js');
    for (const short of ['core', 'ui', 'cli']) expect((await reg.packument(pws.name(short)))?.versions['1.0.1']).toBeUndefined();

    // Per-task mode says the same, and Nx runs no dependent of the failed task.
    const perTask = await pws.publish();
    show('EVERSIONEXISTS, per task', perTask);
    expectFailure(perTask, 'nx run-many -t publish over a changed 1.0.0');
    expect(perTask.output).toMatch(new RegExp(`${utils} failed: \\[EVERSIONEXISTS\\] .*\\n.*Hint: .*bump`, 'i'));
    expect(perTask.output).toMatch(new RegExp(`${pws.name('config')}@1\\.0\\.1 skipped: already on`));
    expect(pws.uploads().slice(uploadsBefore)).toHaveLength(1);
  });
});

describe('a workspace: dependency on a package outside the run', () => {
  it('must be on the registry (EWORKSPACEDEP), and is rewritten to that package\'s current workspace version (nx run-many -p core --excludeTaskDependencies)', async () => {
    const pws = await workspace('outside');
    // utils@1.0.0 goes up alone first; core alone needs utils (workspace:^) and config (workspace:~), neither in its run.
    expectSuccess(await pws.publish(['-p', 'utils', '--excludeTaskDependencies']), 'publishing utils alone');
    const refused = await pws.publish(['-p', 'core', '--excludeTaskDependencies']);
    show('core alone, config not on the registry', refused);
    expectFailure(refused, 'publishing core before config is on the registry');
    expect(refused.output).toMatch(new RegExp(`\\[EWORKSPACEDEP\\] ${pws.name('core')} depends on ${pws.name('config')}@1\\.0\\.0`));
    expect(refused.output).toMatch(/Hint: Publish/);
    expect(pws.uploads().map((u) => `${u.name}@${u.version}`)).toEqual([`${pws.name('utils')}@1.0.0`]);

    expectSuccess(await pws.publish(['-p', 'config', '--excludeTaskDependencies']), 'publishing config alone');
    const result = await pws.publish(['-p', 'core', '--excludeTaskDependencies', '--resume=fresh']);
    show('core alone', result);
    expectSuccess(result, 'publishing core alone');
    expect(pws.uploads().map((u) => `${u.name}@${u.version}`)).toEqual([
      `${pws.name('utils')}@1.0.0`,
      `${pws.name('config')}@1.0.0`,
      `${pws.name('core')}@1.0.0`,
    ]);
    const { manifest } = await reg.tarball(pws.name('core'), '1.0.0');
    expect(manifest.dependencies).toEqual({ [pws.name('utils')]: '^1.0.0', [pws.name('config')]: '~1.0.0' });
    expect((await reg.packument(pws.name('core')))!.versions['1.0.0'].dependencies).toEqual(manifest.dependencies);
    expect(localSpecs(manifest)).toEqual([]);
    // The run was core alone: its journal lists core only.
    expect(Object.keys(pws.readJournal().records)).toEqual([pws.name('core')]);
  });
});

describe('dry run', () => {
  // What both modes must do: no write reaches the registry, no journal, every public package "would be published".
  async function expectDryRun(pws: PublishWorkspace, result: Awaited<ReturnType<PublishWorkspace['publish']>>, label: string): Promise<void> {
    expect(pws.requests().filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
    expect(pws.uploads()).toEqual([]);
    for (const short of pws.publicShorts) expect(await reg.packument(pws.name(short))).toBeUndefined();
    expect(pws.journalFiles()).toEqual({});
    expectSuccess(result, `the dry run (${label})`);
    for (const short of pws.publicShorts) expect(result.output).toMatch(new RegExp(`${pws.name(short)}@1\\.0\\.0 would be published`));
    expect(result.output).toMatch(/Dry run: nothing was published\./);
  }

  it('NX_DRY_RUN=true with --batch: no write, nothing recorded, says what would be published', async () => {
    const pws = await workspace('drybatch');
    const result = await pws.publish(['--batch'], { env: { NX_DRY_RUN: 'true' } });
    show('dry run, batch', result);
    await expectDryRun(pws, result, 'batch, NX_DRY_RUN=true');
    expect(summaryCounts(result.output)).toEqual([{ published: 0, skipped: 1, failed: 0, blocked: 0 }]);
    expect(result.output).toMatch(/0 published, 1 skipped, 0 failed, 0 blocked, 5 to publish/);
  });

  it('--dryRun per task: no write, nothing recorded, and every package (dependents too) would be published', async () => {
    const pws = await workspace('dry');
    const result = await pws.publish(['--dryRun']);
    show('dry run, per task', result);
    // A dependent's task must not call its dependency "failed" or itself "blocked": nothing failed.
    expect(result.output).not.toMatch(/ blocked: /);
    await expectDryRun(pws, result, 'per task, --dryRun');
  });
});
