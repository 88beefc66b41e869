/**
 * lockstep under Nx's own release commands, with @nx/js 23.3.1 installed (as
 * `nx release` needs) and the plugin registered by init, in workspaces of
 * package.json files only (no project.json, no hand-written targets):
 *
 * - `nx release version` then `nx release publish` publishes through
 *   lockstep (not @nx/js's executor, which Nx infers too) to Verdaccio, in
 *   dependency order, exactly once, with the journal and the summary;
 *   --dry-run, --registry, --tag, --otp and --first-release reach it; a
 *   second publish skips everything; `nx release` in one go passes its
 *   version data;
 * - a dependency cycle releases, with run-many (--nxIgnoreCycles: Nx refuses
 *   its own circular task graph otherwise), per task, and with
 *   `nx release publish` (which ignores cycles itself);
 * - `nx affected -t publish` publishes exactly the affected packages, and
 *   fails before any upload when one depends on a workspace version the
 *   registry does not have.
 *
 * What reached the registry is read from Verdaccio and the fault proxy's log.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { expectFailure, expectSuccess, RunResult, TempWorkspace, createTempWorkspace } from './utils/temp-workspace';
import {
  PackageSpec,
  PublishRegistry,
  PublishWorkspace,
  expectDependencyOrder,
  expectEveryVersionOnce,
  landed,
  lockstepLines,
  proxyNerfDart,
  recordUploadHeader,
  show,
  summaryCounts,
  usePublishSuite,
} from './utils/publish-workspace';

// Each test runs nx 6-12 times (several seconds each, more on a loaded 2-core machine).
const TEST_TIMEOUT_MS = 600_000;

let reg: PublishRegistry;
// The suite's registry and clean-up; the workspaces here are made by `released` below.
usePublishSuite((started) => (reg = started));
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

let counter = 0;

interface Released {
  pws: PublishWorkspace;
  ws: TempWorkspace;
  nx(args: string[], env?: Record<string, string | undefined>): Promise<RunResult>;
  name(short: string): string;
  /** Sets "version" in the manifests of `shorts` (their dependency ranges stay as written). */
  setVersion(version: string, shorts?: string[]): void;
  commit(message: string): string;
  nxJson(change: (json: Record<string, any>) => void): void;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'lockstep-e2e',
  GIT_AUTHOR_EMAIL: 'e2e@lockstep.invalid',
  GIT_COMMITTER_NAME: 'lockstep-e2e',
  GIT_COMMITTER_EMAIL: 'e2e@lockstep.invalid',
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'commit.gpgsign',
  GIT_CONFIG_VALUE_0: 'false',
};

/**
 * A package-based workspace (package.json files with plain ranges, as npm
 * workspaces have them), lockstep registered by `nx g @lockstep/nx:init`,
 * nx release configured to leave the lock file alone (it would run npm
 * install), a .npmrc with the proxy's token, and one commit.
 */
async function released(label: string, specs: PackageSpec[], options: { npmrcRegistry?: string } = {}): Promise<Released> {
  const scope = `rel${label}${++counter}${process.pid}`.toLowerCase();
  const name = (short: string) => `@${scope}/${short}`;
  const files: Record<string, string | object> = {
    'package.json': { name: `@${scope}/source`, version: '0.0.0', license: 'MIT', private: true, workspaces: ['packages/*'] },
    'nx.json': { release: { version: { versionActionsOptions: { skipLockFileUpdate: true } } } },
    '.gitignore': 'node_modules\ndist\n.nx\n.npmrc\n',
  };
  for (const spec of specs) {
    const manifest: Record<string, unknown> = { name: name(spec.short), version: '1.0.0', main: 'index.js', license: 'MIT' };
    if (spec.private) manifest.private = true;
    if (spec.dependencies) manifest.dependencies = Object.fromEntries(Object.entries(spec.dependencies).map(([dep, range]) => [name(dep), range]));
    files[`packages/${spec.short}/package.json`] = manifest;
    files[`packages/${spec.short}/index.js`] = `exports.name = ${JSON.stringify(spec.short)};\n`;
  }
  const ws = await createTempWorkspace(`release-${label}`, files);
  const pws = new PublishWorkspace(ws, scope, specs, reg, '1.0.0');
  cleanups.push(() => pws.remove());
  const manifestPath = (short: string) => ws.path('packages', short, 'package.json');
  const r: Released = {
    pws,
    ws,
    name,
    nx: (args, env = {}) => ws.nx(args, { env: pws.env({ ...GIT_ENV, ...env }) }),
    setVersion(version, shorts = specs.map((s) => s.short)) {
      // What PublishWorkspace's expectations read (its own setVersion would write project.json files).
      for (const short of shorts) (pws as unknown as { versions: Map<string, string> }).versions.set(short, version);
      for (const short of shorts) {
        const manifest = JSON.parse(fs.readFileSync(manifestPath(short), 'utf8'));
        manifest.version = version;
        fs.writeFileSync(manifestPath(short), `${JSON.stringify(manifest, null, 2)}\n`);
      }
    },
    commit: (message) => pws.commit(message),
    nxJson(change) {
      const json = JSON.parse(fs.readFileSync(ws.path('nx.json'), 'utf8'));
      change(json);
      fs.writeFileSync(ws.path('nx.json'), `${JSON.stringify(json, null, 2)}\n`);
    },
  };
  // Nx infers @nx/js:release-publish for every public package before lockstep is set up.
  const before = await r.nx(['show', 'project', name(specs.find((s) => !s.private)!.short), '--json']);
  expectSuccess(before, 'nx show project (before init)');
  expect(JSON.parse(before.stdout.slice(before.stdout.indexOf('{'))).targets['nx-release-publish']?.executor).toBe('@nx/js:release-publish');
  expectSuccess(await r.nx(['g', '@lockstep/nx:init']), 'nx g @lockstep/nx:init');
  if (options.npmrcRegistry) {
    // registry= names another registry; the token is the proxy's: only --registry makes the run work.
    fs.writeFileSync(ws.path('.npmrc'), `registry=${options.npmrcRegistry}\n${proxyNerfDart(reg)}:_authToken=${reg.registry.token}\n`, { mode: 0o600 });
  } else {
    pws.writeNpmrc();
  }
  r.commit('initial, lockstep set up');
  return r;
}

async function targetOf(r: Released, short: string, target: string): Promise<Record<string, any>> {
  const shown = await r.nx(['show', 'project', r.name(short), '--json']);
  expectSuccess(shown, `nx show project ${r.name(short)}`);
  return JSON.parse(shown.stdout.slice(shown.stdout.indexOf('{'))).targets[target];
}

/** The requests of a workspace that change something on the registry (uploads, tags). */
const writes = (pws: PublishWorkspace) => pws.requests().filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

/** Upload records of `short`'s current version that landed. */
const landedUpload = (pws: PublishWorkspace, name: string, version: string) => pws.uploads().filter((u) => u.name === name && u.version === version && landed(u));

describe('nx release publish runs lockstep', () => {
  const SPECS: PackageSpec[] = [
    { short: 'utils' },
    { short: 'core', dependencies: { utils: '^1.0.0' } },
    { short: 'cli', dependencies: { core: '^1.0.0', utils: '^1.0.0' } },
    { short: 'internal', private: true, dependencies: { utils: '^1.0.0' } },
  ];
  const PUBLIC = ['utils', 'core', 'cli'];

  it(
    'init makes lockstep\'s nx-release-publish win over @nx/js\'s; nx release version, then nx release publish: --dry-run, --registry, --tag, --otp and --first-release reach lockstep; every version once, in order, journal and summary; again: all skipped',
    async () => {
      const r = await released('flow', SPECS, { npmrcRegistry: 'http://127.0.0.1:9/' });
      const { pws } = r;
      const target = await targetOf(r, 'core', 'nx-release-publish');
      expect(target).toMatchObject({ executor: '@lockstep/nx:publish', cache: false });
      expect(target.dependsOn).toEqual(['^nx-release-publish']);
      r.nxJson((json) => (json.targetDefaults['nx-release-publish'].options = { summaryFile: 'dist/release-summary.json' }));
      r.commit('summary file');

      const version = await r.nx(['release', 'version', '1.1.0']);
      show('nx release version 1.1.0', version);
      expectSuccess(version, 'nx release version 1.1.0');
      for (const short of PUBLIC) expect(JSON.parse(fs.readFileSync(r.ws.path('packages', short, 'package.json'), 'utf8')).version).toBe('1.1.0');
      r.commit('release 1.1.0');
      r.setVersion('1.1.0', PUBLIC);

      const dry = await r.nx(['release', 'publish', '--dry-run', `--registry=${reg.url}`]);
      show('nx release publish --dry-run', dry);
      expectSuccess(dry, 'nx release publish --dry-run');
      for (const short of PUBLIC) expect(dry.output).toContain(`${r.name(short)}@1.1.0 would be published`);
      expect(dry.output).toMatch(/Dry run: nothing was published/);
      expect(writes(pws)).toEqual([]);

      const otps = recordUploadHeader(reg, 'npm-otp');
      let result: RunResult;
      try {
        result = await r.nx(['release', 'publish', `--registry=${reg.url}`, '--tag=next', '--otp=012345']);
      } finally {
        otps.stop();
      }
      show('nx release publish --registry --tag=next --otp', result);
      expectSuccess(result, 'nx release publish --registry --tag=next --otp=012345');
      // One batch of lockstep's executor, not @nx/js's npm publish.
      expect(result.output).toMatch(/Running 3 tasks with @lockstep\/nx:publish/);
      expect(summaryCounts(result.output)).toEqual([{ published: 3, skipped: 0, failed: 0, blocked: 0 }]);
      expectEveryVersionOnce(pws, pws.uploads(), PUBLIC);
      expectDependencyOrder(pws, pws.uploads());
      for (const short of PUBLIC) expect((await reg.packument(r.name(short)))?.['dist-tags']).toMatchObject({ next: '1.1.0' });
      expect(otps.seen.filter((s) => s.name?.startsWith(`@${pws.scope}/`)).map((s) => s.value)).toEqual(['012345', '012345', '012345']);
      expect(await reg.packument(r.name('internal'))).toBeUndefined();
      // The journal of the nx-release-publish target, and the summary file.
      expect(pws.readJournal('nx-release-publish').run).toMatchObject({ status: 'done' });
      const summary = JSON.parse(fs.readFileSync(r.ws.path('dist', 'release-summary.json'), 'utf8'));
      expect(summary).toMatchObject({ ok: true, tag: 'next', counts: { published: 3 } });

      const uploads = pws.uploads().length;
      const again = await r.nx(['release', 'publish', `--registry=${reg.url}`, '--tag=next']);
      show('nx release publish, again', again);
      expectSuccess(again, 'nx release publish, again');
      expect(summaryCounts(again.output)).toEqual([{ published: 0, skipped: 3, failed: 0, blocked: 0 }]);
      const first = await r.nx(['release', 'publish', `--registry=${reg.url}`, '--tag=next', '--first-release']);
      show('nx release publish --first-release', first);
      expectSuccess(first, 'nx release publish --first-release');
      expect(summaryCounts(first.output)).toEqual([{ published: 0, skipped: 3, failed: 0, blocked: 0 }]);
      expect(pws.uploads()).toHaveLength(uploads);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'nx release --first-release in one go (version, changelog commit and tag, publish): its version data and firstRelease are accepted and every bumped package published once',
    async () => {
      const r = await released('onego', SPECS);
      const { pws } = r;
      // The workspace's first release: no git tag yet to start the changelog from.
      const result = await r.nx(['release', '1.2.0', '--yes', '--first-release']);
      show('nx release 1.2.0 --yes --first-release', result);
      expectSuccess(result, 'nx release 1.2.0 --yes --first-release');
      r.setVersion('1.2.0', PUBLIC);
      expect(summaryCounts(result.output)).toEqual([{ published: 3, skipped: 0, failed: 0, blocked: 0 }]);
      expectEveryVersionOnce(pws, pws.uploads(), PUBLIC);
      expectDependencyOrder(pws, pws.uploads());
      expect(execFileSync('git', ['tag', '--list'], { cwd: r.ws.root, encoding: 'utf8' }).trim()).toBe('v1.2.0');
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a dependency cycle releases', () => {
  // a ⇄ b, and app depends on a (so on the cycle).
  const SPECS: PackageSpec[] = [
    { short: 'a', dependencies: { b: '^1.0.0' } },
    { short: 'b', dependencies: { a: '^1.0.0' } },
    { short: 'app', dependencies: { a: '^1.0.0' } },
  ];

  /** The dependent's upload started after both members' uploads had ended (and lockstep verified them before it). */
  function expectAfterCycle(r: Released, version: string): void {
    const [a] = landedUpload(r.pws, r.name('a'), version);
    const [b] = landedUpload(r.pws, r.name('b'), version);
    const [app] = landedUpload(r.pws, r.name('app'), version);
    for (const member of [a, b]) expect(member.end! <= app.start).toBe(true);
  }

  it(
    'run-many needs --nxIgnoreCycles (Nx refuses its circular task graph); then batch, per task and nx release publish each publish every member once, the dependent after both are verified, and say once which packages form the cycle',
    async () => {
      const r = await released('cycle', SPECS);
      const { pws } = r;

      const refused = await pws.publish(['--batch']);
      show('run-many on a cycle', refused);
      expectFailure(refused, 'nx run-many -t publish on a cyclic graph without --nxIgnoreCycles');
      expect(refused.output).toMatch(/the task graph has a circular dependency/);
      expect(writes(pws)).toEqual([]);

      const batch = await pws.publish(['--batch', '--nxIgnoreCycles']);
      show('run-many --nxIgnoreCycles (batch)', batch);
      expectSuccess(batch, 'nx run-many -t publish --nxIgnoreCycles');
      expect(lockstepLines(batch.output).filter((l) => /depend on each other in a cycle/.test(l))).toEqual([
        expect.stringContaining(`These packages depend on each other in a cycle: ${r.name('a')} ⇄ ${r.name('b')}.`),
      ]);
      expectEveryVersionOnce(pws, pws.uploads());
      expectAfterCycle(r, '1.0.0');
      // Verified before the dependent started: both "published" lines (written after verification) come before app's "publishing".
      const lines = lockstepLines(batch.output);
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      expect(at(new RegExp(`${r.name('app')}@1\\.0\\.0 publishing`))).toBeGreaterThan(at(new RegExp(`${r.name('a')}@1\\.0\\.0 published in`)));
      expect(at(new RegExp(`${r.name('app')}@1\\.0\\.0 publishing`))).toBeGreaterThan(at(new RegExp(`${r.name('b')}@1\\.0\\.0 published in`)));

      // Per task: Nx orders the members one way; neither waits for the other, app waits for both.
      r.setVersion('1.0.1');
      r.commit('1.0.1');
      const perTask = await pws.publish(['--nxIgnoreCycles']);
      show('run-many --nxIgnoreCycles --batch=false', perTask);
      expectSuccess(perTask, 'nx run-many -t publish --batch=false --nxIgnoreCycles');
      expect(perTask.output).not.toMatch(/Waiting for/);
      expectEveryVersionOnce(pws, pws.uploads().filter((u) => u.version === '1.0.1'));
      expectAfterCycle(r, '1.0.1');

      // nx release publish ignores cycles itself.
      r.setVersion('1.1.0');
      r.commit('1.1.0');
      const release = await r.nx(['release', 'publish']);
      show('nx release publish on a cycle', release);
      expectSuccess(release, 'nx release publish on a cyclic graph');
      expectEveryVersionOnce(pws, pws.uploads().filter((u) => u.version === '1.1.0'));
      expectAfterCycle(r, '1.1.0');
    },
    TEST_TIMEOUT_MS,
  );
});

describe('nx affected -t publish', () => {
  // utils ← core; ui and docs stand alone.
  const SPECS: PackageSpec[] = [{ short: 'utils' }, { short: 'core', dependencies: { utils: '^1.0.0' } }, { short: 'ui' }, { short: 'docs' }];

  it(
    'publishes exactly the affected packages with their bumped versions, nothing of the rest; an affected package depending on a workspace version the registry lacks fails before any upload',
    async () => {
      const r = await released('affected', SPECS);
      const { pws } = r;
      const all = await pws.publish(['--batch']);
      expectSuccess(all, 'nx run-many -t publish (1.0.0 of everything)');
      expectEveryVersionOnce(pws, pws.uploads());
      const base = pws.head();

      // Two commits change two packages, each with its version bumped.
      fs.writeFileSync(r.ws.path('packages', 'ui', 'index.js'), "exports.name = 'ui, changed';\n");
      r.setVersion('1.1.0', ['ui']);
      r.commit('ui 1.1.0');
      fs.writeFileSync(r.ws.path('packages', 'docs', 'index.js'), "exports.name = 'docs, changed';\n");
      r.setVersion('1.0.1', ['docs']);
      r.commit('docs 1.0.1');

      const before = pws.registry.proxy.stats.log.length;
      const affected = await r.nx(['affected', '-t', 'publish', `--base=${base}`, '--output-style=static']);
      show('nx affected -t publish', affected);
      expectSuccess(affected, 'nx affected -t publish');
      const seen = pws.registry.proxy.stats.log.slice(before).map((req) => decodeURIComponent(req.path));
      const touched = (short: string) => seen.some((p) => p.includes(r.name(short)));
      expect({ ui: touched('ui'), docs: touched('docs'), utils: touched('utils'), core: touched('core') }).toEqual({ ui: true, docs: true, utils: false, core: false });
      expect(pws.uploads().filter((u) => landed(u)).map((u) => `${u.name}@${u.version}`).slice(-2).sort()).toEqual([`${r.name('docs')}@1.0.1`, `${r.name('ui')}@1.1.0`]);
      expect((await reg.packument(r.name('ui')))?.['dist-tags'].latest).toBe('1.1.0');
      expect((await reg.packument(r.name('docs')))?.['dist-tags'].latest).toBe('1.0.1');
      expect(Object.keys((await reg.packument(r.name('utils')))!.versions)).toEqual(['1.0.0']);

      // utils 1.2.0 is committed but never published; core changes and is released without its dependency's task.
      r.setVersion('1.2.0', ['utils']);
      const base2 = r.commit('utils 1.2.0, not published');
      fs.writeFileSync(r.ws.path('packages', 'core', 'index.js'), "exports.name = 'core, changed';\n");
      r.setVersion('1.1.0', ['core']);
      r.commit('core 1.1.0');
      const writesBefore = writes(pws).length;
      const failed = await r.nx(['affected', '-t', 'publish', `--base=${base2}`, '--excludeTaskDependencies', '--output-style=static']);
      show('nx affected -t publish, a dependency missing from the registry', failed);
      expectFailure(failed, 'nx affected -t publish with a dependency missing from the registry');
      expect(failed.output).toMatch(/\[EPREFLIGHT\] Nothing was published/);
      expect(failed.output).toContain(`[EWORKSPACEDEP] ${r.name('core')} depends on ${r.name('utils')}@1.2.0 from the workspace, which is neither in this run nor on`);
      expect(writes(pws)).toHaveLength(writesBefore);
      expect((await reg.packument(r.name('core')))!.versions['1.1.0']).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );
});
