/**
 * The publish executor's options end to end (real nx, Verdaccio behind the
 * fault proxy): batch mode publishes each package with its own task's
 * options (a per-project tag reaches the registry as that package's
 * dist-tag, as in per-task mode); options that hold for the whole run must
 * agree across the run's tasks (EBADOPTIONS naming projects and values); an
 * unknown option fails instead of being ignored. What reached the registry is
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

const specs = (options: Record<string, Record<string, unknown>>): PackageSpec[] => [
  { short: 'utils', targetOptions: options.utils },
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
