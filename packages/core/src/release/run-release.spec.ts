import { EventEmitter } from 'events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { acquireLocalReleaseLock } from './local-release-lock';
import { repositoryIdentity } from '../group/repository-identity';
import type { RegistryPort } from '../publish/types';
import { waitFor } from '../test-utils/wait-for';
import { createReleaseServices } from './default-services';
import { releaseOptions } from '../test-utils/release-options';
import { journalLocation } from '../journal/location';
import type { ReleaseOptions } from './options';
import { RunReleaseInput, runRelease } from './run-release';
import { ReleaseServices } from './services';
import { RunStop } from './stop';

/**
 * runRelease in per-task and batch mode against a fake registry port and the
 * real journal, packing and preflight: what G6 promises at the level of one
 * run made of several task processes (here: concurrent calls sharing one
 * runId, as the tasks of one Nx invocation do).
 */
jest.setTimeout(60_000);

interface Fake {
  port: RegistryPort;
  uploads: string[];
  credentialChecks: number;
}

function fakeRegistry(options: { refuseCredentials?: boolean } = {}): Fake {
  const published = new Map<string, string>();
  const fake: Fake = {
    uploads: [],
    credentialChecks: 0,
    port: {
      registry: 'http://registry.test/',
      getPublished: async (name, version) => {
        const integrity = published.get(`${name}@${version}`);
        return integrity ? { integrity, distTags: { latest: version } } : undefined;
      },
      publish: async (manifest, _tarball, o) => {
        fake.uploads.push(`${manifest.name}@${manifest.version}`);
        published.set(`${manifest.name}@${manifest.version}`, o.integrity);
        return 'published';
      },
      ensureDistTag: async () => false,
      waitUntilVisible: async () => undefined,
      checkCredentials: async () => {
        fake.credentialChecks++;
        if (options.refuseCredentials) {
          const { LockstepError } = await import('@lockstep/core');
          throw new LockstepError('EAUTH', 'http://registry.test/ knows no user for the configured credentials', { hint: 'Check the token.' });
        }
      },
    },
  };
  return fake;
}

/** A temp workspace root per test: `write` puts JSON or text under it; the journal lives in its `.nx/cache`. */
function useWorkspaceRoot(prefix: string) {
  const ws = { root: '' };
  beforeEach(() => (ws.root = mkdtempSync(path.join(os.tmpdir(), prefix))));
  afterEach(() => rmSync(ws.root, { recursive: true, force: true }));
  const write = (rel: string, value: unknown) => {
    mkdirSync(path.dirname(path.join(ws.root, rel)), { recursive: true });
    writeFileSync(path.join(ws.root, rel), typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
  };
  const cacheDir = () => path.join(ws.root, '.nx', 'cache');
  return { ws, write, cacheDir, journalDir: () => journalLocation(cacheDir(), 'publish') };
}

describe('runRelease: the whole run is validated once, before the first upload (G6)', () => {
  const { ws, write, cacheDir, journalDir } = useWorkspaceRoot('lockstep-publish-run-');

  beforeEach(() => {
    write('package.json', { name: 'root', private: true, workspaces: ['packages/*'] });
    write('packages/base/package.json', { name: '@t/base', version: '1.0.0', main: 'index.js' });
    write('packages/base/index.js', 'module.exports = 1;\n');
    write('packages/mid/package.json', { name: '@t/mid', version: '1.0.0', main: 'index.js', dependencies: { '@t/base': 'workspace:^' } });
    write('packages/mid/index.js', 'module.exports = 2;\n');
    write('packages/top/package.json', { name: '@t/top', version: '1.0.0', main: 'index.js', dependencies: { '@t/mid': 'workspace:*' } });
    write('packages/top/index.js', 'module.exports = 3;\n');
  });

  const projects = () => ['base', 'mid', 'top'].map((name) => ({ name, root: `packages/${name}` }));

  function task(fake: Fake, onlyProject: string | undefined, counter: { checks: number }, extra: Partial<ReleaseOptions> = {}): Promise<unknown> {
    const log = () => undefined;
    const options = releaseOptions(extra);
    const real = createReleaseServices(options, { workspaceRoot: ws.root, cacheDir: cacheDir(), env: {}, log });
    const services: ReleaseServices = {
      ...real,
      checkPack: async (...args) => {
        counter.checks++;
        return real.checkPack(...args);
      },
      createRegistry: async () => fake.port,
    };
    const input: RunReleaseInput = {
      workspaceRoot: ws.root,
      cacheDir: cacheDir(),
      targetName: 'publish',
      projects: projects(),
      runProjects: ['base', 'mid', 'top'],
      onlyProjects: onlyProject === undefined ? undefined : [onlyProject],
      options,
      services,
      log,
      // One Nx invocation: every task of it has the same root pid, so the same runId.
      env: { NX_INVOCATION_ROOT_PID: String(process.pid) },
    };
    return runRelease(input);
  }

  it('per task: a leaf\'s workspace: spec on no package and a bad version elsewhere fail EVERY task of the run, naming both, with nothing uploaded and one validation for the run', async () => {
    write('packages/top/package.json', { name: '@t/top', version: '1.0.0', dependencies: { '@t/mid': 'workspace:*', '@t/ghost': 'workspace:*' } });
    write('packages/base/package.json', { name: '@t/base', version: 'one.zero' });
    const fake = fakeRegistry();
    const counter = { checks: 0 };
    // The tasks of one run, side by side (Nx runs independent tasks in parallel; here even dependents, to be hostile).
    const results = await Promise.allSettled(['base', 'mid', 'top'].map((p) => task(fake, p, counter)));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason;
      expect(error.code).toBe('EPREFLIGHT');
      expect(error.message).toContain('[EWORKSPACEDEP] @t/top: dependencies["@t/ghost"] is "workspace:*", but no workspace package is named "@t/ghost".');
      expect(error.message).toMatch(/\[EPACK\] .*version "one\.zero" of @t\/base is not an exact semver version/);
      expect(error.hint).toMatch(/Nothing was published/);
    }
    expect(fake.uploads).toEqual([]);
    // One task validated the whole run (3 packages); the others found its verdict.
    expect(counter.checks).toBe(3);
    expect(fake.credentialChecks).toBe(3);
    // No run was recorded for anyone to join or resume; the verdict is kept beside the journal.
    expect(existsSync(path.join(journalDir(), 'run.json'))).toBe(false);
    expect(readdirSync(journalDir()).filter((f) => f.startsWith('preflight-failed-'))).toHaveLength(1);
  });

  it('per task: refused credentials fail the run before any upload (EAUTH inside EPREFLIGHT)', async () => {
    const fake = fakeRegistry({ refuseCredentials: true });
    const counter = { checks: 0 };
    const error: any = await task(fake, 'base', counter).catch((e) => e);
    expect(error.code).toBe('EPREFLIGHT');
    expect(error.message).toContain('http://registry.test/: [EAUTH] http://registry.test/ knows no user');
    expect(fake.uploads).toEqual([]);
    // A later task of the same run does not check again.
    const again: any = await task(fake, 'mid', counter).catch((e) => e);
    expect(again.code).toBe('EPREFLIGHT');
    expect(fake.credentialChecks).toBe(3);
  });

  it('per task: a sound run is validated by its first task only; the next tasks join and publish', async () => {
    const fake = fakeRegistry();
    const counter = { checks: 0 };
    for (const project of ['base', 'mid', 'top']) await task(fake, project, counter);
    expect(counter.checks).toBe(3);
    expect(fake.uploads).toEqual(['@t/base@1.0.0', '@t/mid@1.0.0', '@t/top@1.0.0']);
  });

  it('batch: the same problems fail the run at once; fixed, the run publishes everything', async () => {
    write('packages/mid/package.json', { name: '@t/mid', version: '1.0.0', dependencies: { '@t/base': 'workspace:^', '@t/nowhere': 'workspace:~' } });
    const fake = fakeRegistry();
    const error: any = await task(fake, undefined, { checks: 0 }).catch((e) => e);
    expect(error.code).toBe('EPREFLIGHT');
    expect(error.message).toContain('"@t/nowhere"');
    expect(fake.uploads).toEqual([]);

    write('packages/mid/package.json', { name: '@t/mid', version: '1.0.0', dependencies: { '@t/base': 'workspace:^' } });
    // A new invocation: another runId (here, another root pid).
    const options = releaseOptions();
    const real = createReleaseServices(options, { workspaceRoot: ws.root, cacheDir: cacheDir(), env: {}, log: () => undefined });
    await runRelease({
      workspaceRoot: ws.root,
      cacheDir: cacheDir(),
      targetName: 'publish',
      projects: projects(),
      runProjects: ['base', 'mid', 'top'],
      options,
      services: { ...real, createRegistry: async () => fake.port },
      log: () => undefined,
      env: { NX_INVOCATION_ROOT_PID: String(process.ppid) },
    });
    expect(fake.uploads.sort()).toEqual(['@t/base@1.0.0', '@t/mid@1.0.0', '@t/top@1.0.0']);
    // The verdict of the failed run is swept once a run passes.
    expect(readdirSync(journalDir()).filter((f) => f.startsWith('preflight-failed-'))).toEqual([]);
  });

  it('dry run per task: checks the whole run\'s manifests and specs, packs only its own package, touches no registry and records nothing', async () => {
    write('packages/top/package.json', { name: '@t/top', version: '1.0.0', dependencies: { '@t/ghost': 'workspace:*' } });
    const fake = fakeRegistry();
    const counter = { checks: 0 };
    // base itself is fine, but the run has a problem elsewhere: in a dry run too, every task says so.
    for (const project of ['base', 'top']) {
      const error: any = await task(fake, project, counter, { dryRun: true }).catch((e) => e);
      expect(error.code).toBe('EPREFLIGHT');
      expect(error.message).toContain('"@t/ghost"');
    }
    // Each task checked every manifest (3 × 2); the files it listed were its own only (not counted here).
    expect(counter.checks).toBe(6);
    expect(fake.credentialChecks).toBe(0);
    expect(existsSync(journalDir())).toBe(false);
  });
});

describe('runRelease per task: the run ends with a report when a package fails or the run is stopped', () => {
  const { ws, write, cacheDir, journalDir } = useWorkspaceRoot('lockstep-publish-end-');
  const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
  const PROJECTS = ['base', 'mid', 'top', 'side'];
  // As Nx orders the tasks (dependsOn ^publish): base ← mid ← top; side alone.
  const NX_DEPS = new Map([
    ['base', []],
    ['mid', ['base']],
    ['top', ['mid']],
    ['side', []],
  ]);

  beforeEach(() => {
    write('package.json', { name: 'root', private: true, workspaces: ['packages/*'] });
    write('packages/base/package.json', { name: '@t/base', version: '1.0.0' });
    write('packages/mid/package.json', { name: '@t/mid', version: '1.0.0', dependencies: { '@t/base': 'workspace:^' } });
    write('packages/top/package.json', { name: '@t/top', version: '1.0.0', dependencies: { '@t/mid': 'workspace:*' } });
    write('packages/side/package.json', { name: '@t/side', version: '1.0.0' });
    for (const p of PROJECTS) write(`packages/${p}/index.js`, `module.exports = ${JSON.stringify(p)};\n`);
  });

  function perTask(port: RegistryPort, project: string, lines: string[], extra: Partial<RunReleaseInput> = {}, options: Partial<ReleaseOptions> = {}) {
    const log = (line: string) => void lines.push(line);
    const normalized = releaseOptions({ summaryFile: path.join(ws.root, 'dist/summary.json'), ...options });
    const real = createReleaseServices(normalized, { workspaceRoot: ws.root, cacheDir: cacheDir(), env: {}, log });
    return runRelease({
      workspaceRoot: ws.root,
      cacheDir: cacheDir(),
      targetName: 'publish',
      projects: PROJECTS.map((name) => ({ name, root: `packages/${name}` })),
      runProjects: PROJECTS,
      runDependencies: NX_DEPS,
      onlyProjects: [project],
      options: normalized,
      services: { ...real, createRegistry: async () => port },
      log,
      env: { NX_INVOCATION_ROOT_PID: String(process.pid) },
      ...extra,
    });
  }
  /** The counts line of every table printed. */
  const tables = (lines: string[]) => lines.flatMap((l) => l.split('\n')).filter((l) => /^\d+ published, \d+ skipped, \d+ failed, \d+ blocked/.test(l));

  it.each([
    ['base fails first, side ends the run', ['base', 'side']],
    ['side first, base fails last and ends the run', ['side', 'base']],
  ])('a failed package (%s): the dependents Nx will not run are blocked, the journal says failed, the table and summary file come once', async (_label, order) => {
    const fake = fakeRegistry();
    const publish = fake.port.publish;
    fake.port.publish = async (manifest, tarball, o) => {
      if (manifest.name === '@t/base') {
        const { LockstepError } = await import('@lockstep/core');
        throw new LockstepError('EVERSIONEXISTS', '@t/base@1.0.0 is already on http://registry.test/ with other content', { hint: 'Bump it.' });
      }
      return publish(manifest, tarball, o);
    };
    const lines: string[] = [];
    // Nx runs base and side; it runs neither mid nor top, whose dependency failed.
    const results = [];
    for (const project of order) results.push(await perTask(fake.port, project, lines));
    expect(Object.fromEntries(results.flatMap((r) => [...r.byProject]))).toMatchObject({ base: false, side: true });

    const run = readJson(path.join(journalDir(), 'run.json'));
    expect(run.status).toBe('failed');
    const record = (name: string) => readJson(path.join(journalDir(), 'packages', `${name.replace('/', '+')}.json`));
    expect(record('@t/base')).toMatchObject({ status: 'failed', error: { code: 'EVERSIONEXISTS' } });
    expect(record('@t/side').status).toBe('published');
    for (const name of ['@t/mid', '@t/top']) expect(record(name)).toMatchObject({ status: 'blocked', error: { code: 'EBLOCKED', message: expect.stringMatching(/^blocked by @t\/base/) } });

    expect(tables(lines)).toEqual(['1 published, 0 skipped, 1 failed, 2 blocked in ' + tables(lines)[0].split(' in ')[1]]);
    const summary = readJson(path.join(ws.root, 'dist/summary.json'));
    expect(summary).toMatchObject({ ok: false, counts: { published: 1, skipped: 0, failed: 1, blocked: 2, pending: 0 } });
    expect(summary.stopped).toBeUndefined();
  });

  it('no package fails: only the task that completes the run reads every record; a failed package sets the run\'s ended-badly marker before its record', async () => {
    const journals = require('../journal/open-journal') as typeof import('../journal/open-journal');
    const original = journals.openJournal;
    const readers: string[] = [];
    let task = '';
    const spy = jest.spyOn(journals, 'openJournal').mockImplementation(async (dir, options) => {
      const opened = await original(dir, options);
      const all = opened.journal.all.bind(opened.journal);
      opened.journal.all = () => (readers.push(task), all());
      return opened;
    });
    const runsDir = () => path.join(journalDir(), 'runs');
    const markersOfRun = () => readdirSync(runsDir()).flatMap((run) => readdirSync(path.join(runsDir(), run)));
    try {
      const fake = fakeRegistry();
      for (task of ['base', 'mid', 'top', 'side']) expect((await perTask(fake.port, task, [])).byProject.get(task)).toBe(true);
      expect(new Set(readers)).toEqual(new Set(['side']));
      expect(markersOfRun()).not.toContain('ended-badly');

      // The next run (the version bumped): base fails, and the marker is there before base's failed record.
      rmSync(journalDir(), { recursive: true, force: true });
      write('packages/base/package.json', { name: '@t/base', version: '1.0.1' });
      fake.port.publish = async (manifest) => {
        expect(markersOfRun()).not.toContain('ended-badly');
        throw new Error(`${manifest.name}: registry on fire`);
      };
      const failing = new Map<string, boolean>();
      const journalsTransition: string[] = [];
      for (task of ['base', 'side']) {
        const r = await perTask(fake.port, task, journalsTransition);
        failing.set(task, r.byProject.get(task)!);
        if (task === 'base') expect(markersOfRun()).toContain('ended-badly');
      }
      expect(Object.fromEntries(failing)).toEqual({ base: false, side: true });
      const record = (name: string) => JSON.parse(readFileSync(path.join(journalDir(), 'packages', `${name.replace('/', '+')}.json`), 'utf8'));
      for (const name of ['@t/mid', '@t/top']) expect(record(name).status).toBe('blocked');
    } finally {
      spy.mockRestore();
    }
  });

  it('a resumed run is complete only when the tasks of the records it kept have run: the last task reports, with the kept packages confirmed (skipped)', async () => {
    const fake = fakeRegistry();
    // An earlier invocation published base and side, then ended before mid and top (their records stay pending).
    for (const task of ['base', 'side']) await perTask(fake.port, task, []);
    expect(readJson(path.join(journalDir(), 'run.json')).status).toBe('running');
    // This invocation (another root process) resumes it; Nx runs side, which nothing depends on, last.
    const lines: string[] = [];
    const ended: string[] = [];
    for (const task of ['base', 'mid', 'top', 'side']) {
      await perTask(fake.port, task, lines, { env: { NX_INVOCATION_ROOT_PID: String(process.ppid) } });
      ended.push(task);
      if (ended.length < 4) expect({ after: ended.join(','), tables: tables(lines) }).toEqual({ after: ended.join(','), tables: [] });
    }
    expect(tables(lines)).toEqual([expect.stringMatching(/^2 published, 2 skipped, 0 failed, 0 blocked in /)]);
    expect(readJson(path.join(journalDir(), 'run.json')).status).toBe('done');
    expect(fake.uploads.sort()).toEqual(['@t/base@1.0.0', '@t/mid@1.0.0', '@t/side@1.0.0', '@t/top@1.0.0']);
  });

  it('git is asked once per run, not by every task: branch, repository identity and commit come from the first task that needed them', async () => {
    const git = require('../group/repository-identity') as typeof import('../group/repository-identity');
    const calls: string[] = [];
    const spies = (['currentBranch', 'repositoryIdentity', 'currentSha'] as const).map((name) => {
      const original = git[name] as (...args: any[]) => any;
      return jest.spyOn(git, name).mockImplementation(((...args: any[]) => (calls.push(name), original(...args))) as never);
    });
    const lockDir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-locks-'));
    chmodSync(lockDir, 0o700);
    const saved = process.env.LOCKSTEP_LOCK_DIR;
    process.env.LOCKSTEP_LOCK_DIR = lockDir;
    try {
      const fake = fakeRegistry();
      for (const task of ['base', 'mid', 'top', 'side']) expect((await perTask(fake.port, task, [], {}, { lockPolicy: 'require' })).byProject.get(task)).toBe(true);
      expect(calls.sort()).toEqual(['currentBranch', 'currentSha', 'repositoryIdentity']);
      expect(readJson(path.join(journalDir(), 'run.json')).sha).toBe('no-git');
    } finally {
      for (const spy of spies) spy.mockRestore();
      if (saved === undefined) delete process.env.LOCKSTEP_LOCK_DIR;
      else process.env.LOCKSTEP_LOCK_DIR = saved;
      rmSync(lockDir, { recursive: true, force: true });
    }
  });

  it('a stop: nothing starts an upload after it, the upload in flight finishes, and the last task to end prints the run\'s table once, with the signal and exit code; the journal stays resumable', async () => {
    const fake = fakeRegistry();
    const publish = fake.port.publish;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let inFlight = 0;
    fake.port.publish = async (manifest, tarball, o) => {
      inFlight++;
      await released;
      return publish(manifest, tarball, o);
    };
    const lines: string[] = [];
    const emitters = [new EventEmitter(), new EventEmitter()];
    const stops = emitters.map(
      (signals) =>
        new RunStop({ env: { LOCKSTEP_STOP_GRACE_MS: '60000' }, log: (line) => void lines.push(line), signals: signals as unknown as NodeJS.Process, openTerminal: () => undefined }),
    );
    try {
      const tasks = [perTask(fake.port, 'base', lines, { stop: stops[0] }), perTask(fake.port, 'side', lines, { stop: stops[1] })];
      await waitFor(() => inFlight === 2, { timeoutMs: 30_000, what: 'both uploads in flight' });
      for (const signals of emitters) signals.emit('SIGTERM', 'SIGTERM');
      release();
      await Promise.all(tasks);
      // Nx starts no other task after a stop; one it had started anyway starts nothing.
      await perTask(fake.port, 'mid', lines, { stop: stops[0] });
    } finally {
      for (const stop of stops) stop.dispose();
    }
    expect(fake.uploads.sort()).toEqual(['@t/base@1.0.0', '@t/side@1.0.0']);
    expect(lines.filter((l) => l.startsWith('SIGTERM: finishing the upload in flight within 60 s'))).toHaveLength(2);
    expect(tables(lines)).toHaveLength(1);
    expect(tables(lines)[0]).toMatch(/^2 published, 0 skipped, 0 failed, 0 blocked, 2 pending in /);
    expect(lines).toContain('Stopped by SIGTERM: 2 published, 2 not finished (left in the journal: the next run at this commit resumes them). Exit code 143.');
    expect(readJson(path.join(ws.root, 'dist/summary.json'))).toMatchObject({ stopped: { signal: 'SIGTERM', exitCode: 143 }, counts: { published: 2, pending: 2 } });
    expect(readJson(path.join(journalDir(), 'run.json')).status).toBe('running');
  });

  it('a run waiting for the release group prints its "Waiting for …" line once, not once per task', async () => {
    const lockDir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-locks-'));
    chmodSync(lockDir, 0o700);
    const saved = process.env.LOCKSTEP_LOCK_DIR;
    process.env.LOCKSTEP_LOCK_DIR = lockDir;
    // Another run (another root pid: this process's parent, which is alive) holds the group.
    const holder = await acquireLocalReleaseLock({ group: 'publish', repoId: repositoryIdentity(ws.root), runPid: process.ppid, waitTimeoutMs: 0, command: 'another release', log: () => undefined });
    try {
      const fake = fakeRegistry();
      const lines: string[] = [];
      const tasks = ['base', 'side'].map((p) => perTask(fake.port, p, lines, {}, { lockPolicy: 'require' }));
      // Both tasks are queued behind the holder (the core lock reports a waiter at once).
      await waitFor(() => readdirSync(path.join(journalDir(), 'runs')).length > 0 && lines.some((l) => l.startsWith('Waiting for ')), { timeoutMs: 30_000, what: 'a Waiting for line' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await holder.release();
      await Promise.all(tasks);
      expect(lines.filter((l) => l.startsWith('Waiting for publish'))).toHaveLength(1);
      expect(fake.uploads.sort()).toEqual(['@t/base@1.0.0', '@t/side@1.0.0']);
    } finally {
      await holder.release();
      if (saved === undefined) delete process.env.LOCKSTEP_LOCK_DIR;
      else process.env.LOCKSTEP_LOCK_DIR = saved;
      rmSync(lockDir, { recursive: true, force: true });
    }
  });
});
