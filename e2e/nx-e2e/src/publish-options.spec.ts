/**
 * The publish executor's options end to end (real nx, Verdaccio behind the
 * fault proxy): batch mode publishes each package with its own task's
 * options (a per-project tag reaches the registry as that package's
 * dist-tag, as in per-task mode); options that hold for the whole run must
 * agree across the run's tasks (EBADOPTIONS naming projects and values); an
 * unknown option fails instead of being ignored; a package's publishConfig
 * (tag, access) reaches the registry where the target sets none, and a
 * prerelease nothing set a tag for is refused. What reached the registry is
 * read from Verdaccio and the proxy's log, never from exit codes alone.
 */
import { expectFailure, expectSuccess } from './utils/temp-workspace';
import { PackageSpec, PublishRegistry, PublishWorkspace, expectDependencyOrder, expectEveryVersionOnce, show, usePublishSuite } from './utils/publish-workspace';

// Each test runs nx two to four times: tens of seconds each on a loaded 2-core machine.
const TEST_TIMEOUT_MS = 480_000;

let reg: PublishRegistry;
const workspace = usePublishSuite((started) => (reg = started));

/** Requests of this workspace that change something on the registry (uploads, tags). */
const writes = (pws: PublishWorkspace) => pws.requests().filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

const specs = (options: Record<string, Record<string, unknown>>, manifests: Record<string, Record<string, unknown>> = {}): PackageSpec[] => [
  { short: 'utils', targetOptions: options.utils, manifest: manifests.utils },
  { short: 'core', dependencies: { utils: 'workspace:^' }, targetOptions: options.core },
  { short: 'cli', dependencies: { core: 'workspace:~' }, targetOptions: options.cli },
];

describe('batch mode honours each task\'s options', () => {
  it(
    'a tag and access per project: each package gets its own dist-tag in one batch run, as per task; a second batch run skips all',
    async () => {
      const pws = await workspace('pertag', { specs: specs({ utils: { tag: 'next' }, core: { tag: 'beta', access: 'public' }, cli: {} }) });
      const result = await pws.publish(['--batch']);
      show('batch with per-project tags', result);
      expectSuccess(result, 'nx run-many -t publish --batch');
      expect(result.output).toMatch(/Running 3 tasks with @lockstep\/nx:publish/);
      expectEveryVersionOnce(pws, pws.uploads());
      expectDependencyOrder(pws, pws.uploads());
      const tags = async (short: string) => (await reg.packument(pws.name(short)))?.['dist-tags'];
      expect(await tags('utils')).toMatchObject({ next: '1.0.0' });
      expect(await tags('core')).toMatchObject({ beta: '1.0.0' });
      expect(await tags('cli')).toEqual({ latest: '1.0.0' });
      // Not the first task's tag for everyone.
      expect((await tags('utils'))?.beta).toBeUndefined();
      expect((await tags('core'))?.next).toBeUndefined();

      // The same per task gives the same registry state: 1.0.1 per task, then compare.
      pws.setVersion('1.0.1');
      pws.commit('1.0.1');
      const perTask = await pws.publish([]);
      show('per task with per-project tags', perTask);
      expectSuccess(perTask, 'nx run-many -t publish --batch=false');
      expect(await tags('utils')).toMatchObject({ next: '1.0.1' });
      expect(await tags('core')).toMatchObject({ beta: '1.0.1' });
      expect(await tags('cli')).toMatchObject({ latest: '1.0.1' });

      const uploads = pws.uploads().length;
      const again = await pws.publish(['--batch']);
      show('batch again', again);
      expectSuccess(again, 'nx run-many -t publish --batch, again');
      expect(again.output).toMatch(/0 published, 3 skipped, 0 failed, 0 blocked/);
      expect(pws.uploads()).toHaveLength(uploads);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'options that hold for the whole run must agree: EBADOPTIONS names each option, its values and their projects, and nothing is sent to the registry',
    async () => {
      const pws = await workspace('runwide', {
        specs: specs({ utils: { maxConcurrency: 2 }, core: { maxConcurrency: 3, concurrency: { group: 'core-only' } }, cli: { maxConcurrency: 2 } }),
      });
      const result = await pws.publish(['--batch']);
      show('batch with disagreeing run-wide options', result);
      expectFailure(result, 'nx run-many -t publish --batch with disagreeing run-wide options');
      expect(result.output).toMatch(/\[EBADOPTIONS\] The publish tasks of this run disagree on options that hold for the whole run/);
      expect(result.output).toContain('maxConcurrency: 2 (cli, utils) vs 3 (core)');
      expect(result.output).toMatch(/concurrency: \{"template":"publish"[^}]*\} \(cli, utils\) vs \{"template":"core-only"/);
      expect(result.output).toMatch(/Hint: .*hold for the whole run/);
      expect(writes(pws)).toEqual([]);
      for (const short of pws.shorts) expect(await reg.packument(pws.name(short))).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'an unknown option fails, per task and in batch, naming it; nothing is sent to the registry',
    async () => {
      const pws = await workspace('unknown', { specs: specs({ utils: { tags: 'next' }, core: {}, cli: {} }) });
      // Nx checks each task's options against schema.json (additionalProperties: false) before lockstep runs.
      const perTask = await pws.publish([]);
      show('unknown option, per task', perTask);
      expectFailure(perTask, 'nx run-many -t publish --batch=false with an unknown option');
      expect(perTask.output).toMatch(/'tags' is not found in schema/);
      // cli's own options are sound: only the flag is wrong.
      const cli = await pws.publish(['--projects=cli', '--excludeTaskDependencies', '--regsitry=http://127.0.0.1:9/']);
      show('unknown option on the command line', cli);
      expectFailure(cli, 'nx run-many -t publish --batch=false --regsitry=…');
      expect(cli.output).toMatch(/'regsitry' is not found in schema/);
      // In batch mode Nx 23.3.1 runs the same check in its batch process, and reports its failure only as an
      // unhandled rejection of a SchemaError (its message is lost); every task fails all the same.
      const batch = await pws.publish(['--batch']);
      show('unknown option, batch', batch);
      expectFailure(batch, 'nx run-many -t publish --batch with an unknown option');
      expect(batch.output).toMatch(/SchemaError/);
      expect(batch.output).toMatch(/Failed tasks:[\s\S]*utils:publish/);
      expect(writes(pws)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('publishConfig and prereleases, as npm publish applies them', () => {
  it(
    'a prerelease with no tag is refused before anything is sent; then publishConfig.tag and .access reach the registry (PUT body and dist-tags), the table says so, the tarball keeps publishConfig',
    async () => {
      const publishConfig = { tag: 'next', access: 'restricted' };
      const pws = await workspace('pubcfg', { specs: specs({ utils: {}, core: {}, cli: {} }, { utils: { publishConfig } }) });
      // What each upload asked for, read from the PUT bodies the proxy forwards (no fault injected).
      const sent = new Map<string, { access: unknown; distTags: unknown }>();
      reg.proxy.setOptions({
        rules: (req) => {
          if (req.isUpload && req.name?.startsWith(`${pws.name('utils').split('/')[0]}/`)) {
            const doc = JSON.parse(req.body.toString('utf8'));
            sent.set(String(doc.name), { access: doc.access, distTags: doc['dist-tags'] });
          }
          return false;
        },
      });
      try {
        pws.setVersion('1.1.0-beta.1', ['cli']);
        pws.commit('cli prerelease');
        const refused = await pws.publish(['--batch']);
        show('prerelease without a tag', refused);
        expectFailure(refused, 'nx run-many -t publish --batch with a prerelease and no tag');
        expect(refused.output).toMatch(new RegExp(`${pws.name('cli').replace('/', '\\/')}@1\\.1\\.0-beta\\.1: \\[EBADMANIFEST\\] .*prerelease and no tag was set`));
        expect(refused.output).toMatch(/Hint: Set a tag: .*publishConfig.*--tag next/);
        expect(writes(pws)).toEqual([]);
        for (const short of pws.shorts) expect(await reg.packument(pws.name(short))).toBeUndefined();

        pws.setVersion('1.0.0', ['cli']);
        pws.commit('cli 1.0.0');
        const result = await pws.publish(['--batch']);
        show('publishConfig tag and access', result);
        expectSuccess(result, 'nx run-many -t publish --batch with publishConfig on utils');
        expectEveryVersionOnce(pws, pws.uploads());
        expect(sent.get(pws.name('utils'))).toEqual({ access: 'restricted', distTags: { next: '1.0.0' } });
        // Without publishConfig: npm's default access (what libnpmpublish sends, as before).
        expect(sent.get(pws.name('core'))).toEqual({ access: 'public', distTags: { latest: '1.0.0' } });
        expect((await reg.packument(pws.name('utils')))?.['dist-tags']).toMatchObject({ next: '1.0.0' });
        expect((await reg.packument(pws.name('core')))?.['dist-tags']).toEqual({ latest: '1.0.0' });
        expect(result.output).toMatch(new RegExp(`${pws.name('utils').replace('/', '\\/')}@1\\.0\\.0 .*tag next`));
        expect((await reg.tarball(pws.name('utils'), '1.0.0')).manifest.publishConfig).toEqual(publishConfig);
      } finally {
        reg.proxy.setOptions({ rules: undefined });
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'per task, the run is checked with each task\'s own tag: a prerelease whose own task sets none is refused even when the checking task sets one; with a tag of its own it goes out under it',
    async () => {
      // utils (level 0, the task that sets the run up and checks it) has a tag; cli, a prerelease, has none of its own.
      const pws = await workspace('pretask', { specs: specs({ utils: { tag: 'next' }, core: {}, cli: {} }) });
      pws.setVersion('2.0.0-rc.1', ['utils', 'cli']);
      pws.commit('prereleases');
      const refused = await pws.publish([]);
      show('per task, prerelease without its own tag', refused);
      expectFailure(refused, 'nx run-many -t publish --batch=false with a prerelease whose task sets no tag');
      expect(refused.output).toMatch(new RegExp(`${pws.name('cli').replace('/', '\\/')}@2\\.0\\.0-rc\\.1: \\[EBADMANIFEST\\]`));
      expect(refused.output).not.toMatch(new RegExp(`${pws.name('utils').replace('/', '\\/')}@2\\.0\\.0-rc\\.1: \\[EBADMANIFEST\\]`));
      expect(writes(pws)).toEqual([]);

      const ok = await pws.publish(['--tag=rc']);
      show('per task, --tag rc', ok);
      expectSuccess(ok, 'nx run-many -t publish --batch=false --tag=rc');
      expect((await reg.packument(pws.name('cli')))?.['dist-tags']).toMatchObject({ rc: '2.0.0-rc.1' });
      expect((await reg.packument(pws.name('utils')))?.['dist-tags']).toMatchObject({ rc: '2.0.0-rc.1' });
    },
    TEST_TIMEOUT_MS,
  );
});
