/**
 * `publish` that also depends on `build`: Nx forms batches from the tasks
 * whose dependencies are complete, so one `nx run-many -t publish` can reach
 * the batch executor several times as builds finish. Whatever the batches,
 * it must stay one release: checked once, every version once, in dependency
 * order, one summary of the whole run, and a second run skips everything.
 */
import { expectSuccess } from './utils/temp-workspace';
import { PublishWorkspace, expectDependencyOrder, expectEveryVersionOnce, show, sixPackages, summaryCounts, usePublishSuite } from './utils/publish-workspace';

const TEST_TIMEOUT_MS = 240_000;

const workspace = usePublishSuite(() => undefined);

describe('publish that depends on build (several batches in one nx run)', () => {
  it(
    'builds of different lengths: every version once, dependencies first, one release (checked once, one summary of all six); a second run skips all',
    async () => {
      // Each package has a build of its own length (0.3–2.3 s): publish tasks become ready at different times.
      const specs = sixPackages().map((spec, i) => {
        const build = { executor: 'nx:run-commands', options: { command: `node -e "setTimeout(() => {}, ${300 + ((i * 797) % 2000)})"` } };
        return { ...spec, targets: { build } };
      });
      const pws: PublishWorkspace = await workspace('batches', { specs, nxJson: { targetDefaults: { publish: { dependsOn: ['build', '^publish'] } } } });
      const first = await pws.publish(['--batch']);
      show('publish after build, batches', first);
      expectSuccess(first, 'nx run-many -t publish (publish dependsOn build)');
      expectEveryVersionOnce(pws, pws.uploads());
      expectDependencyOrder(pws, pws.uploads());
      // Nx ran publish in several batches (each batch prints its own nx run line, or a "Running N tasks" line)...
      const batches = (first.output.match(/> nx run [^:\s]+:publish|Running \d+ tasks with @lockstep\/nx:publish/g) ?? []).length;
      console.log(`[nx-e2e] publish after build: Nx ran publish in ${batches} batches, ${first.durationMs} ms`);
      expect(batches).toBeGreaterThan(1);
      // ...yet it was one release: one plan of all 6 packages checked once, one summary table of the whole run.
      expect(first.output.match(/Checked the run before the first upload/g)).toHaveLength(1);
      expect(summaryCounts(first.output)).toEqual([{ published: 5, skipped: 1, failed: 0, blocked: 0 }]);

      const uploads = pws.uploads().length;
      const second = await pws.publish(['--batch']);
      expectSuccess(second, 'the second run');
      expect(pws.uploads().length).toBe(uploads);
    },
    TEST_TIMEOUT_MS,
  );
});
