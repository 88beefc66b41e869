/**
 * Shared by the generate-cache specs: workspaces whose generate targets have
 * "stash" (the @lockstep/nx plugin infers their hold and stash targets), and
 * the checks of outDirs and readers.
 */
import * as path from 'path';
import { check, generation } from '../../../../tools/scripts/fixtures/selfcheck';
import { ReaderTally, fixtureFiles, generatorModule, startReader } from '../../../../tools/scripts/sample-workspace';
import { TempWorkspace, createTempWorkspace, expectSuccess } from './temp-workspace';

const GENERATE = '@lockstep/nx:generate';
export const COUNT = 200;
/** Projects per workspace: one nx invocation restores this many outDirs (nx start-up is most of an invocation's time). */
export const PROJECTS = 5;
export const SETUP_MS = 60_000;
export const outDirOf = (i: number) => `dist/gen/app${i}`;
export const projects = () => Array.from({ length: PROJECTS }, (_, i) => i);

/**
 * A workspace with the plugin registered and PROJECTS hand-written generate
 * targets with "stash": true (the one option), whose generation is a function
 * of GEN_STAMP (as it would be of a schema file).
 */
export async function stashWorkspace(name: string, projectCount = PROJECTS): Promise<TempWorkspace> {
  const files: Record<string, unknown> = {
    // The same root package.json in every workspace (createWorkspace would name it after the directory): clones hash alike.
    'package.json': { name: 'stash-clone', version: '0.0.0', private: true },
    'nx.json': { plugins: ['@lockstep/nx/plugin'] },
    ...fixtureFiles(),
    'tools/gen.js': generatorModule('tools/gen.js', { count: COUNT }),
  };
  for (let i = 0; i < projectCount; i++) {
    files[`apps/app${i}/project.json`] = {
      name: `app${i}`,
      root: `apps/app${i}`,
      targets: {
        generate: { executor: GENERATE, inputs: ['default', { env: 'GEN_STAMP' }], options: { outDir: outDirOf(i), generator: 'tools/gen.js', stash: true } },
      },
    };
  }
  return createTempWorkspace(name, files as Parameters<typeof createTempWorkspace>[1]);
}

/** Every file of `tree` whole and of one generation of COUNT files; returns its stamp. */
export function oneGeneration(tree: Record<string, Buffer>, what: string): string {
  const stamps = new Set<string>();
  const problems: string[] = [];
  for (const [rel, data] of Object.entries(tree)) {
    const result = check(rel, data);
    if (result.ok) stamps.add(result.stamp);
    else problems.push(`${rel}: ${result.kind}`);
  }
  if (problems.length > 0 || stamps.size !== 1) throw new Error(`${what}: not one whole generation (stamps ${[...stamps].join(', ')}; ${problems.slice(0, 5).join(', ')})`);
  const [stamp] = [...stamps];
  const expected = generation(COUNT, stamp);
  const keys = Object.keys(tree).sort();
  if (keys.join('\n') !== Object.keys(expected).sort().join('\n')) throw new Error(`${what}: the files are not exactly the ${COUNT} of generation ${stamp}`);
  return stamp;
}

export function expectCleanTally(tally: ReaderTally): void {
  console.log(
    `[nx-e2e] reader: ${tally.reads} reads in ${tally.sweeps} sweeps over ${tally.durationMs} ms, generations seen: ${tally.stamps.join(', ')}; ` +
      `missing: ${tally.missing}, empty: ${tally.empty}, torn: ${tally.torn}, errors: ${tally.errors}`,
  );
  expect({ missing: tally.missing, empty: tally.empty, torn: tally.torn, errors: tally.errors, samples: tally.samples }).toEqual({ missing: 0, empty: 0, torn: 0, errors: 0, samples: [] });
}

/**
 * `rounds` invocations of `nx run-many -t generate`, GEN_STAMP alternating
 * gen-a and gen-b: once both generations are cached, every invocation is a
 * cache hit per project that rewrites all of its files. Checks every outDir
 * after each; returns the stash cache hits counted in Nx's output.
 */
export async function alternate(ws: TempWorkspace, rounds: number, env: Record<string, string> = {}): Promise<{ hits: number }> {
  let hits = 0;
  for (let round = 0; round < rounds; round++) {
    const stamp = round % 2 === 0 ? 'gen-a' : 'gen-b';
    const result = await ws.nx(['run-many', '-t', 'generate', '--output-style=static'], { env: { ...env, GEN_STAMP: stamp } });
    expectSuccess(result, `nx run-many -t generate (round ${round}, GEN_STAMP=${stamp})`);
    if (process.env.LOCKSTEP_E2E_DEBUG === '1') console.log(result.output);
    hits += (result.output.match(/nx run app\d+:generate--stash\s+\[(local|remote) cache\]/g) ?? []).length;
    for (const i of projects()) {
      expect(result.output).toMatch(new RegExp(`\\[lockstep\\] ${outDirOf(i)}: ${COUNT} files from the stash`));
      expect(oneGeneration(ws.snapshot(outDirOf(i)), `${outDirOf(i)} after round ${round}`)).toBe(stamp);
    }
  }
  return { hits };
}

/** One reader process sweeping every outDir in turn (a busy reader per outDir would starve nx on 2 cores). */
export function startReaders(ws: TempWorkspace) {
  return startReader(projects().map((i) => ws.path(outDirOf(i))).join(path.delimiter), COUNT, ws.scratch('reader.json'));
}
