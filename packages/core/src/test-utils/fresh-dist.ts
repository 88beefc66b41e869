import { assertFreshBuild } from '../../../../tools/scripts/workspace';

const fresh = new Set<string>();

/**
 * Specs import `src`, but the processes they start (`__fixtures__/*.js`
 * workers, the CLI's `dist/bin.js`) load the built `dist`: a spec run after
 * an edit without a build would test the old code in those processes and the
 * new code in the spec. This fails such a run at once, saying to build first.
 * The judge is `tsc -b --dry` (tools/scripts/workspace.js, the check e2e and
 * the demo use too), asked once per package list per test file.
 *
 * Called by `Worker` (test-utils/workers.ts) and by every spec that spawns a
 * fixture or a built bin itself. `npm test` builds first, so it passes there.
 */
export function assertFreshDist(packages: string[] = ['packages/core']): void {
  const key = packages.join(' ');
  if (fresh.has(key)) return;
  try {
    assertFreshBuild(packages);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nThis spec starts processes that load ${packages.map((p) => `${p}/dist`).join(' and ')}, while the spec itself imports src: ` +
        `without a build they would run the old code. Build first (npm run build), or run the tests with npm test.`,
    );
  }
  fresh.add(key);
}
