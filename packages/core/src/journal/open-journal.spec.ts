import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';
import { isDurableTempFor, writeFileDurable } from '../atomic/write-durable';
import { tempSiblingPath } from '../atomic/temp-name';
import { useTempDir } from '../test-utils/temp-dir';
import { isJournalTemp, recordFileName } from './journal-files';
import { OpenJournalOptions, openJournal } from './open-journal';
import { clearJournal, readJournal } from './read-journal';
import { PackageRecord, RecordStatus } from './records';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const PACKAGES = [
  { name: '@ws/core', version: '1.0.0' },
  { name: '@ws/util', version: '2.0.0' },
  { name: 'app', version: '3.0.0' },
];

/** writeFileDurable, recording which files it wrote. */
const spyOn =
  (writes: string[]) =>
  (file: string, data: string): Promise<void> => {
    writes.push(file);
    return writeFileDurable(file, data);
  };

// write-file-atomic's own temp names, to plant leftovers exactly as a SIGKILL leaves them.
const wfaTempName: (file: string) => string = require('write-file-atomic')._getTmpname;

describe('openJournal', () => {
  const tmp = useTempDir('lockstep-journal-');
  const dir = () => path.join(tmp(), 'cache', 'lockstep', 'publish', 'publish');
  const recordFile = (name: string) => path.join(dir(), 'packages', recordFileName(name));
  const runFile = () => path.join(dir(), 'run.json');
  const readRecord = (name: string): PackageRecord => JSON.parse(readFileSync(recordFile(name), 'utf8'));
  const readRun = () => JSON.parse(readFileSync(runFile(), 'utf8'));

  let clock = Date.parse('2030-01-01T00:00:00.000Z');
  const now = () => new Date((clock += 1000));
  const opts = (over: Partial<OpenJournalOptions> = {}): OpenJournalOptions => ({
    runId: 'run-1',
    sha: SHA_A,
    target: 'publish',
    registry: 'https://registry.example/',
    packages: PACKAGES,
    resume: 'auto',
    now,
    ...over,
  });

  /** Every file under the journal with its bytes, to prove a refused open changed nothing. */
  const snapshot = (root = dir()): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.name === '.lock') continue;
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else out[path.relative(root, full)] = readFileSync(full, 'utf8');
      }
    };
    walk(root);
    return out;
  };

  /** A run left unfinished (as a crash leaves it), with the given statuses. */
  const crashedRun = async (statuses: Record<string, RecordStatus>, over: Partial<OpenJournalOptions> = {}) => {
    const { journal } = await openJournal(dir(), opts({ runId: 'crashed', ...over }));
    const path_: Record<RecordStatus, RecordStatus[]> = {
      pending: [],
      packing: ['packing'],
      publishing: ['packing', 'publishing'],
      verifying: ['packing', 'publishing', 'verifying'],
      published: ['packing', 'publishing', 'verifying', 'published'],
      skipped: ['packing', 'skipped'],
      failed: ['packing', 'failed'],
      blocked: ['blocked'],
      staging: ['packing', 'staging'],
      staged: ['packing', 'staging', 'staged'],
    };
    for (const [name, status] of Object.entries(statuses)) {
      for (const step of path_[status]) {
        await journal.transition(name, step, {
          level: 1,
          integrity: `sha512-${name}`,
          ...(step === 'staged' ? { stageId: `stage-${name}` } : {}),
          ...(step === 'failed' || step === 'blocked' ? { error: { code: 'EREGISTRY', message: 'boom' } } : {}),
          ...(step === 'skipped' ? { skippedReason: 'already on the registry' } : {}),
        });
      }
    }
    return journal;
  };

  describe('a new run', () => {
    it('writes run.json and one pending record per package', async () => {
      const opened = await openJournal(dir(), opts());
      expect(opened).toMatchObject({ mode: 'created', resumed: false, previous: undefined });
      expect(readRun()).toEqual({
        schema: 1,
        runId: 'run-1',
        sha: SHA_A,
        target: 'publish',
        registry: 'https://registry.example/',
        startedAt: expect.any(String),
        updatedAt: expect.any(String),
        status: 'running',
        packages: PACKAGES,
      });
      expect(readdirSync(path.join(dir(), 'packages')).sort()).toEqual(['@ws+core.json', '@ws+util.json', 'app.json']);
      for (const p of PACKAGES) {
        expect(readRecord(p.name)).toEqual({ schema: 1, name: p.name, version: p.version, status: 'pending', attempts: 0, updatedAt: expect.any(String) });
      }
      expect(opened.journal.all().map((r) => r.name)).toEqual(PACKAGES.map((p) => p.name));
      expect(opened.journal.run.runId).toBe('run-1');
    });

    it('replaces a finished run (done or failed): history, not state to resume', async () => {
      for (const status of ['done', 'failed'] as const) {
        const old = await crashedRun({ '@ws/core': 'published', app: 'failed' }, { runId: `old-${status}`, packages: [...PACKAGES, { name: 'gone', version: '1.0.0' }] });
        await old.finish(status);
        const opened = await openJournal(dir(), opts({ runId: `new-${status}` }));
        expect(opened).toMatchObject({ mode: 'created', resumed: false, previous: { runId: `old-${status}`, sha: SHA_A, status } });
        expect(opened.journal.all().map((r) => [r.status, r.attempts])).toEqual([
          ['pending', 0],
          ['pending', 0],
          ['pending', 0],
        ]);
        expect(existsSync(recordFile('gone'))).toBe(false);
        expect(readRun()).toMatchObject({ runId: `new-${status}`, status: 'running' });
        expect(readRun().resumedFrom).toBeUndefined();
        await opened.journal.finish('done');
      }
    });

    it('with resume "fresh", replaces even an unfinished run, of this commit or another', async () => {
      await crashedRun({ '@ws/core': 'published' });
      const same = await openJournal(dir(), opts({ runId: 'fresh-1', resume: 'fresh' }));
      expect(same).toMatchObject({ mode: 'created', resumed: false, previous: { runId: 'crashed', status: 'running' } });
      expect(readRecord('@ws/core').status).toBe('pending');
      const other = await openJournal(dir(), opts({ runId: 'fresh-2', sha: SHA_B, resume: 'fresh' }));
      expect(other).toMatchObject({ mode: 'created', previous: { runId: 'fresh-1', sha: SHA_A } });
      expect(readRun()).toMatchObject({ runId: 'fresh-2', sha: SHA_B });
    });

    it('stores the registry without credentials, query or fragment, and nothing from the environment', async () => {
      process.env.LOCKSTEP_TEST_SECRET = 'env-secret-value-123';
      try {
        const { journal } = await openJournal(dir(), opts({ registry: 'https://ci-user:s3cr3t-pass@registry.example/npm/?token=abc#frag' }));
        await journal.transition('app', 'failed', { error: { code: 'EAUTH', message: 'redacted by the caller: ***' } });
        await journal.finish('failed');
        expect(readRun().registry).toBe('https://registry.example/npm/');
        const everything = Object.values(snapshot()).join('\n');
        for (const secret of ['s3cr3t-pass', 'ci-user', 'token=abc', 'env-secret-value-123', process.env.HOME ?? '\0', process.env.PATH ?? '\0']) {
          expect(everything).not.toContain(secret);
        }
      } finally {
        delete process.env.LOCKSTEP_TEST_SECRET;
      }
    });
  });

  describe('joining (the task processes of one invocation share one runId)', () => {
    it('joins a run of the same runId without writing anything', async () => {
      await openJournal(dir(), opts());
      const before = snapshot();
      const writes: string[] = [];
      const opened = await openJournal(dir(), opts({ writeFile: spyOn(writes) }));
      expect(opened).toMatchObject({ mode: 'joined', resumed: false });
      expect(writes).toEqual([]);
      expect(snapshot()).toEqual(before);
    });

    it('joins even with resume "fresh": a run of this invocation is not a previous run', async () => {
      const first = await openJournal(dir(), opts());
      await first.journal.transition('app', 'packing');
      const opened = await openJournal(dir(), opts({ resume: 'fresh' }));
      expect(opened.mode).toBe('joined');
      expect(opened.journal.get('app')!.status).toBe('packing');
    });

    it('adds pending records for packages the run lacks and leaves the others alone', async () => {
      const first = await openJournal(dir(), opts({ packages: PACKAGES.slice(0, 2) }));
      await first.journal.transition('@ws/core', 'packing');
      const writes: string[] = [];
      const opened = await openJournal(dir(), opts({ writeFile: spyOn(writes) }));
      expect(opened.mode).toBe('joined');
      expect(writes).toEqual([recordFile('app')]);
      expect(opened.journal.all().map((r) => r.status)).toEqual(['packing', 'pending', 'pending']);
    });

    it('lazyJoin: reads no record when run.json lists every package at its version (a corrupt one is found when read); otherwise the full check', async () => {
      const first = await openJournal(dir(), opts());
      await first.journal.transition('app', 'packing');
      writeFileSync(recordFile('@ws/util'), '{"schema":1,');
      const lazy = await openJournal(dir(), opts({ lazyJoin: true }));
      expect(lazy.mode).toBe('joined');
      expect(lazy.journal.get('app')!.status).toBe('packing');
      expect(() => lazy.journal.get('@ws/util')).toThrow(expect.objectContaining({ code: 'EJOURNALCORRUPT' }));
      // Without lazyJoin the join reads (and checks) every record.
      await expect(openJournal(dir(), opts())).rejects.toMatchObject({ code: 'EJOURNALCORRUPT' });
      writeFileSync(recordFile('@ws/util'), readFileSync(recordFile('@ws/core'), 'utf8').replace(/@ws\/core/g, '@ws/util').replace('"1.0.0"', '"2.0.0"'));
      // A version run.json does not list: the full check, which refuses it.
      await expect(openJournal(dir(), opts({ lazyJoin: true, packages: [{ name: 'app', version: '9.9.9' }] }))).rejects.toMatchObject({ code: 'EBADOPTIONS' });
      // A package run.json does not list: joined under the lock, its pending record added.
      const more = await openJournal(dir(), opts({ lazyJoin: true, packages: [...PACKAGES, { name: 'late', version: '1.0.0' }] }));
      expect(more.mode).toBe('joined');
      expect(more.journal.get('late')!.status).toBe('pending');
    });

    it('refuses a package version that differs from the one the run journals (EBADOPTIONS)', async () => {
      await openJournal(dir(), opts());
      await expect(openJournal(dir(), opts({ packages: [{ name: 'app', version: '9.9.9' }] }))).rejects.toMatchObject({ code: 'EBADOPTIONS' });
    });
  });

  describe('resuming an unfinished run of the same commit', () => {
    it('keeps published and skipped records, resets the rest to pending with their attempts', async () => {
      await crashedRun({ '@ws/core': 'published', '@ws/util': 'publishing', app: 'skipped' });
      const published = readFileSync(recordFile('@ws/core'), 'utf8');
      const skipped = readFileSync(recordFile('app'), 'utf8');
      const opened = await openJournal(dir(), opts({ runId: 'run-2' }));
      expect(opened).toMatchObject({ mode: 'resumed', resumed: true, previous: { runId: 'crashed', sha: SHA_A, status: 'running' } });
      expect(readFileSync(recordFile('@ws/core'), 'utf8')).toBe(published);
      expect(readFileSync(recordFile('app'), 'utf8')).toBe(skipped);
      expect(readRecord('@ws/util')).toEqual({
        schema: 1,
        name: '@ws/util',
        version: '2.0.0',
        status: 'pending',
        level: 1,
        integrity: 'sha512-@ws/util',
        attempts: 1,
        updatedAt: expect.any(String),
      });
      expect(readRun()).toMatchObject({ runId: 'run-2', sha: SHA_A, status: 'running', resumedFrom: 'crashed' });
    });

    it('a staged run: keeps staged records with their stage id, resets staging to pending; approval moves staged to published, keeping the stage id', async () => {
      await crashedRun({ '@ws/core': 'staged', app: 'staging' });
      const staged = readFileSync(recordFile('@ws/core'), 'utf8');
      const { journal } = await openJournal(dir(), opts({ runId: 'run-2' }));
      expect(readFileSync(recordFile('@ws/core'), 'utf8')).toBe(staged);
      expect(readRecord('@ws/core')).toMatchObject({ status: 'staged', stageId: 'stage-@ws/core' });
      expect(readRecord('app').status).toBe('pending');
      await journal.transition('@ws/core', 'published');
      expect(readRecord('@ws/core')).toMatchObject({ status: 'published', stageId: 'stage-@ws/core', integrity: 'sha512-@ws/core' });
      // Staging is entered from packing (or staged, a changed version staged again), never from pending.
      await expect(journal.transition('app', 'staging')).rejects.toMatchObject({ code: 'EINTERNAL' });
    });

    it.each(['packing', 'publishing', 'verifying', 'failed', 'blocked'] as const)('resets %s to pending, dropping its error', async (status) => {
      await crashedRun({ app: status });
      await openJournal(dir(), opts({ runId: 'run-2' }));
      const record = readRecord('app');
      expect(record.status).toBe('pending');
      expect(record.error).toBeUndefined();
      expect(record.attempts).toBe(['publishing', 'verifying'].includes(status) ? 1 : 0);
    });

    it('a record kept from the interrupted run starts anew when this run moves it: its startedAt is this run\'s, not the interrupted run\'s', async () => {
      await crashedRun({ '@ws/core': 'published', app: 'skipped' });
      const before = readRecord('@ws/core');
      const appStarted = readRecord('app').startedAt;
      expect(before.startedAt).toBeDefined();
      const { journal } = await openJournal(dir(), opts({ runId: 'run-2' }));
      const runStart = Date.parse(journal.run.startedAt);
      expect(Date.parse(before.startedAt!)).toBeLessThan(runStart);
      // This run confirms it on the registry (skipped), and moves a second time: the start stays this run's first move.
      const moved = await journal.transition('@ws/core', 'packing');
      expect(Date.parse(moved.startedAt!)).toBeGreaterThanOrEqual(runStart);
      const skipped = await journal.transition('@ws/core', 'skipped', { skippedReason: 'already on the registry' });
      expect(skipped.startedAt).toBe(moved.startedAt);
      // A record this run has not moved keeps what it had.
      expect(readRecord('app').startedAt).toBe(appStarted);
    });

    it("every transition stamps the record with its run's id; a resume keeps the earlier run's id on what it keeps and drops it from what it resets", async () => {
      await crashedRun({ '@ws/core': 'published', '@ws/util': 'verifying', app: 'skipped' });
      expect([readRecord('@ws/core').runId, readRecord('@ws/util').runId, readRecord('app').runId]).toEqual(['crashed', 'crashed', 'crashed']);
      const { journal } = await openJournal(dir(), opts({ runId: 'run-2' }));
      // Kept records were settled by the interrupted run, not by this one: a dependent must not take them as this run's proof.
      expect(journal.get('@ws/core')).toMatchObject({ status: 'published', runId: 'crashed' });
      expect(journal.get('app')).toMatchObject({ status: 'skipped', runId: 'crashed' });
      expect(journal.get('@ws/util')!.runId).toBeUndefined();
      expect((await journal.transition('@ws/core', 'packing')).runId).toBe('run-2');
      expect((await journal.transition('@ws/util', 'blocked', { error: { code: 'EBLOCKED', message: 'x' } })).runId).toBe('run-2');
      // A new run (the interrupted one replaced) starts with pending records that carry no run id.
      await journal.finish('failed');
      await openJournal(dir(), opts({ runId: 'run-3' }));
      expect(PACKAGES.map((p) => readRecord(p.name).runId)).toEqual([undefined, undefined, undefined]);
    });

    it('adds new packages, restarts a package whose version changed, and leaves records of dropped packages on disk but out of the run', async () => {
      await crashedRun({ '@ws/core': 'published', app: 'published' }, { packages: [...PACKAGES, { name: 'dropped', version: '1.0.0' }] });
      const opened = await openJournal(
        dir(),
        opts({
          runId: 'run-2',
          packages: [
            { name: '@ws/core', version: '1.0.0' },
            { name: 'app', version: '3.0.1' },
            { name: 'new', version: '0.1.0' },
          ],
        }),
      );
      expect(opened.journal.all().map((r) => [r.name, r.version, r.status, r.attempts])).toEqual([
        ['@ws/core', '1.0.0', 'published', 1],
        ['app', '3.0.1', 'pending', 0],
        ['new', '0.1.0', 'pending', 0],
      ]);
      expect(opened.journal.get('dropped')).toBeUndefined();
      expect(readRecord('dropped').status).toBe('pending');
      const snap = await readJournal(dir());
      expect(snap!.others.map((r) => r.name)).toEqual(['@ws/util', 'dropped']);
    });

    it('refuses an unfinished run of another commit with ESTATESHAMISMATCH naming both SHAs, and changes nothing', async () => {
      await crashedRun({ '@ws/core': 'published', app: 'publishing' });
      const before = snapshot();
      let error: any;
      await openJournal(dir(), opts({ runId: 'run-2', sha: SHA_B })).catch((e) => (error = e));
      expect(error).toMatchObject({ code: 'ESTATESHAMISMATCH' });
      expect(error.message).toContain(SHA_A);
      expect(error.message).toContain(SHA_B);
      expect(error.hint).toContain('resume: "fresh"');
      expect(error.hint).toContain(`check out ${SHA_A}`);
      expect(error.hint).toContain('lockstep state clear');
      expect(snapshot()).toEqual(before);
    });
  });

  describe('beforeSetUp (the publish preflight runs there, G6)', () => {
    it('runs once, in the process that creates the run, before any file is written; joiners never run it', async () => {
      const calls: string[] = [];
      const writes: string[] = [];
      const hook = (who: string) => async () => {
        calls.push(who);
        expect(existsSync(runFile())).toBe(false);
        expect(writes).toEqual([]);
      };
      const first = await openJournal(dir(), opts({ beforeSetUp: hook('first'), writeFile: spyOn(writes) }));
      expect(first.mode).toBe('created');
      const second = await openJournal(dir(), opts({ beforeSetUp: hook('second') }));
      expect(second.mode).toBe('joined');
      expect(calls).toEqual(['first']);
    });

    it('concurrent openers of one run: the hook runs exactly once, and nobody joins before it is over', async () => {
      let running = 0;
      let calls = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const hook = async () => {
        calls++;
        running++;
        await gate;
        running--;
      };
      const openers = [0, 1, 2, 3].map(() => openJournal(dir(), opts({ beforeSetUp: hook })));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(existsSync(runFile())).toBe(false);
      expect(running).toBe(1);
      release();
      const opened = await Promise.all(openers);
      expect(calls).toBe(1);
      expect(opened.map((o) => o.mode).sort()).toEqual(['created', 'joined', 'joined', 'joined']);
    });

    it('a hook that throws leaves an unfinished run untouched and resumable, and its error is what openJournal rejects with', async () => {
      await crashedRun({ '@ws/core': 'published', app: 'publishing' });
      const before = snapshot();
      const refusal = Object.assign(new Error('bad input'), { code: 'EPREFLIGHT' });
      await expect(openJournal(dir(), opts({ runId: 'run-2', beforeSetUp: async () => Promise.reject(refusal) }))).rejects.toBe(refusal);
      expect(snapshot()).toEqual(before);
      const resumed = await openJournal(dir(), opts({ runId: 'run-3' }));
      expect(resumed.mode).toBe('resumed');
      expect(resumed.journal.get('@ws/core')!.status).toBe('published');
    });

    it('is not run for an unfinished run of another commit: ESTATESHAMISMATCH comes first', async () => {
      await crashedRun({ app: 'publishing' });
      let called = false;
      await expect(openJournal(dir(), opts({ runId: 'run-2', sha: SHA_B, beforeSetUp: async () => void (called = true) }))).rejects.toMatchObject({ code: 'ESTATESHAMISMATCH' });
      expect(called).toBe(false);
    });
  });

  describe('transitions', () => {
    it('write exactly one file, the package’s own, whatever the size of the run', async () => {
      const many = Array.from({ length: 200 }, (_, i) => ({ name: `pkg-${i}`, version: '1.0.0' }));
      const writes: string[] = [];
      const { journal } = await openJournal(dir(), opts({ packages: many, writeFile: spyOn(writes) }));
      const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
      for (const e of readdirSync(path.join(dir(), 'packages'))) utimesSync(path.join(dir(), 'packages', e), old, old);
      utimesSync(runFile(), old, old);
      writes.length = 0;
      for (const status of ['packing', 'publishing', 'verifying', 'published'] as const) {
        await journal.transition('pkg-42', status);
        expect(writes).toEqual([recordFile('pkg-42')]);
        writes.length = 0;
      }
      const touched = readdirSync(path.join(dir(), 'packages')).filter((e) => statSync(path.join(dir(), 'packages', e)).mtimeMs !== old.getTime());
      expect(touched).toEqual(['pkg-42.json']);
      expect(statSync(runFile()).mtimeMs).toBe(old.getTime());
    });

    it('set updatedAt and startedAt, count an attempt per entry into publishing, keep level and integrity', async () => {
      const { journal } = await openJournal(dir(), opts());
      const packing = await journal.transition('app', 'packing', { level: 2 });
      expect(packing).toMatchObject({ status: 'packing', level: 2, attempts: 0, startedAt: packing.updatedAt });
      const publishing = await journal.transition('app', 'publishing', { integrity: 'sha512-x' });
      expect(publishing).toMatchObject({ attempts: 1, level: 2, integrity: 'sha512-x', startedAt: packing.startedAt });
      expect(publishing.updatedAt > packing.updatedAt).toBe(true);
      expect((await journal.transition('app', 'publishing')).attempts).toBe(2);
      const done = await journal.transition('app', 'published');
      expect(done).toMatchObject({ status: 'published', attempts: 2, integrity: 'sha512-x' });
      expect(readRecord('app')).toEqual(done);
      expect(journal.get('app')).toEqual(done);
    });

    it('keep error with failed/blocked and skippedReason with skipped only; store only code and message', async () => {
      const { journal } = await openJournal(dir(), opts());
      const leaky = { code: 'EREGISTRY', message: 'x'.repeat(5000), stack: 'at secret.js:1', headers: { authorization: 'Bearer t' } };
      const failed = await journal.transition('app', 'failed', { error: leaky });
      expect(Object.keys(failed.error!)).toEqual(['code', 'message']);
      expect(failed.error!.message.length).toBe(4000);
      expect(readFileSync(recordFile('app'), 'utf8')).not.toMatch(/secret\.js|Bearer/);
      expect((await journal.transition('app', 'failed')).error?.code).toBe('EREGISTRY');
      const retried = await journal.transition('app', 'packing');
      expect(retried.error).toBeUndefined();
      expect(retried.startedAt).toBe(failed.startedAt);
      const skipped = await journal.transition('app', 'skipped', { skippedReason: 'private' });
      expect(skipped.skippedReason).toBe('private');
      expect((await journal.transition('app', 'pending')).skippedReason).toBeUndefined();
      expect(readRecord('app').startedAt).toBeUndefined();
    });

    it('refuse what would break G1 or is not a package of the run (EINTERNAL), loosely allow the rest', async () => {
      const { journal } = await openJournal(dir(), opts());
      await expect(journal.transition('app', 'published')).rejects.toMatchObject({ code: 'EINTERNAL' });
      await expect(journal.transition('app', 'verifying')).rejects.toMatchObject({ code: 'EINTERNAL' });
      await expect(journal.transition('app', 'publishing')).rejects.toMatchObject({ code: 'EINTERNAL' });
      await expect(journal.transition('nope', 'packing')).rejects.toMatchObject({ code: 'EINTERNAL' });
      await expect(journal.transition('app', 'done' as RecordStatus)).rejects.toMatchObject({ code: 'EINTERNAL' });
      expect(readRecord('app').status).toBe('pending');
      // What the publisher does on a resumed run: a kept 'published' is packed and re-checked again.
      for (const s of ['packing', 'publishing', 'verifying', 'published', 'packing', 'skipped', 'blocked', 'pending', 'skipped'] as const) {
        await journal.transition('app', s);
      }
    });

    it('of one package in one process apply in call order, each on top of the last', async () => {
      const { journal } = await openJournal(dir(), opts());
      const results = await Promise.all([
        journal.transition('app', 'packing'),
        journal.transition('app', 'publishing'),
        journal.transition('app', 'publishing'),
        journal.transition('app', 'verifying'),
        journal.transition('@ws/core', 'skipped'),
      ]);
      expect(results.map((r) => r.status)).toEqual(['packing', 'publishing', 'publishing', 'verifying', 'skipped']);
      expect(readRecord('app')).toMatchObject({ status: 'verifying', attempts: 2 });
    });

    it('a failed write leaves the old record and does not poison the next transition', async () => {
      let fail = false;
      const { journal } = await openJournal(dir(), opts({ writeFile: async (f, d) => (fail ? Promise.reject(new Error('ENOSPC')) : writeFileDurable(f, d)) }));
      await journal.transition('app', 'packing');
      fail = true;
      await expect(journal.transition('app', 'publishing')).rejects.toThrow('ENOSPC');
      fail = false;
      expect(readRecord('app').status).toBe('packing');
      expect(await journal.transition('app', 'publishing')).toMatchObject({ attempts: 1 });
    });

    it('are visible to other handles at once (get and all read the disk)', async () => {
      const a = await openJournal(dir(), opts());
      const b = await openJournal(dir(), opts());
      await a.journal.transition('@ws/core', 'packing');
      expect(b.journal.get('@ws/core')!.status).toBe('packing');
      expect(b.journal.all()[0].status).toBe('packing');
    });
  });

  describe('finish and isComplete', () => {
    it('isComplete once every package is published, skipped, failed or blocked', async () => {
      const { journal } = await openJournal(dir(), opts());
      expect(journal.isComplete()).toBe(false);
      await journal.transition('@ws/core', 'skipped');
      await journal.transition('@ws/util', 'failed');
      expect(journal.isComplete()).toBe(false);
      await journal.transition('app', 'blocked');
      expect(journal.isComplete()).toBe(true);
    });

    it('finish marks run.json done or failed; a finished run is replaced by the next', async () => {
      const { journal } = await openJournal(dir(), opts());
      const run = await journal.finish('done');
      expect(run).toMatchObject({ runId: 'run-1', status: 'done' });
      expect(readRun()).toEqual(run);
      expect(run.updatedAt > run.startedAt).toBe(true);
      expect((await openJournal(dir(), opts({ runId: 'run-2' }))).mode).toBe('created');
    });

    it('finish refuses when the journal no longer holds this run (cleared or taken over)', async () => {
      const { journal } = await openJournal(dir(), opts());
      await clearJournal(dir());
      await expect(journal.finish('done')).rejects.toMatchObject({ code: 'ELOCKCOMPROMISED' });
      await openJournal(dir(), opts({ runId: 'other' }));
      await expect(journal.finish('done')).rejects.toMatchObject({ code: 'ELOCKCOMPROMISED' });
      expect(readRun().runId).toBe('other');
    });
  });

  describe('corrupt files are EJOURNALCORRUPT naming the file, never a crash or a silent reset', () => {
    const expectCorrupt = async (promise: Promise<unknown>, file: string) => {
      let error: any;
      await promise.catch((e) => (error = e));
      expect(error).toMatchObject({ code: 'EJOURNALCORRUPT' });
      expect(error.message).toContain(file);
      expect(error.hint).toContain('resume: "fresh"');
      return error;
    };

    it.each([
      ['empty (truncated to nothing)', ''],
      ['truncated', '{"schema":1,"runId":"crashed","sha":"'],
      ['not an object', '[1,2]'],
      ['of another schema', JSON.stringify({ schema: 2, runId: 'x' })],
      ['missing a field', JSON.stringify({ schema: 1, runId: 'x', sha: SHA_A, target: 't', registry: '', startedAt: 'x', updatedAt: 'x', status: 'running' })],
      ['with an unknown status', JSON.stringify({ schema: 1, runId: 'x', sha: SHA_A, target: 't', registry: '', startedAt: 'x', updatedAt: 'x', status: 'paused', packages: [] })],
    ])('run.json %s', async (_what, text) => {
      await crashedRun({ app: 'published' });
      writeFileSync(runFile(), text);
      const before = snapshot();
      await expectCorrupt(openJournal(dir(), opts({ runId: 'run-2' })), runFile());
      await expectCorrupt(openJournal(dir(), opts({ runId: 'crashed' })), runFile());
      await expectCorrupt(readJournal(dir()), runFile());
      expect(snapshot()).toEqual(before);
      // resume: "fresh" is the way out.
      expect((await openJournal(dir(), opts({ runId: 'run-3', resume: 'fresh' }))).mode).toBe('created');
    });

    it.each([
      ['empty', () => ''],
      ['truncated', (t: string) => t.slice(0, t.length / 2)],
      ['of another schema', (t: string) => t.replace('"schema": 1', '"schema": 0')],
      ['with negative attempts', (t: string) => t.replace('"attempts": 1', '"attempts": -1')],
      ['holding another package', (t: string) => t.replace('"name": "app"', '"name": "@ws/core"')],
    ])('a package record %s', async (_what, mangle) => {
      await crashedRun({ app: 'published' });
      writeFileSync(recordFile('app'), mangle(readFileSync(recordFile('app'), 'utf8')));
      const before = snapshot();
      await expectCorrupt(openJournal(dir(), opts({ runId: 'run-2' })), recordFile('app'));
      await expectCorrupt(openJournal(dir(), opts({ runId: 'crashed' })), recordFile('app'));
      await expectCorrupt(readJournal(dir()), recordFile('app'));
      expect(snapshot()).toEqual(before);
      expect((await openJournal(dir(), opts({ runId: 'run-3', resume: 'fresh' }))).journal.get('app')!.status).toBe('pending');
    });

    it('a corrupt record of a package no longer in the run still counts', async () => {
      await crashedRun({}, { packages: [...PACKAGES, { name: 'old', version: '1.0.0' }] });
      writeFileSync(recordFile('old'), '{');
      await expectCorrupt(openJournal(dir(), opts({ runId: 'run-2' })), recordFile('old'));
    });

    it('get, all and transition on a record corrupted during the run', async () => {
      const { journal } = await openJournal(dir(), opts());
      writeFileSync(recordFile('app'), '{"schema":1,');
      expect(() => journal.get('app')).toThrow(expect.objectContaining({ code: 'EJOURNALCORRUPT' }));
      expect(() => journal.all()).toThrow(expect.objectContaining({ code: 'EJOURNALCORRUPT' }));
      await expectCorrupt(journal.transition('app', 'packing'), recordFile('app'));
      expect(readFileSync(recordFile('app'), 'utf8')).toBe('{"schema":1,');
    });
  });

  describe('leaked temp files', () => {
    it("recognises write-file-atomic 7's real temp names (decimal uint32)", () => {
      const names = Array.from({ length: 200 }, () => path.basename(wfaTempName(runFile())));
      expect(names.every(isJournalTemp)).toBe(true);
      expect(names.every((n) => isDurableTempFor('run.json', n))).toBe(true);
      for (const real of ['run.json', 'app.json', '@s+x.json', 'a.json.json', 'x.json.json']) expect(isJournalTemp(real)).toBe(false);
    });

    const plant = () => {
      const planted = [
        wfaTempName(runFile()),
        wfaTempName(recordFile('app')),
        `${recordFile('app')}.1234`,
        tempSiblingPath(recordFile('@ws/core')),
      ];
      for (const f of planted) writeFileSync(f, '{"half');
      return planted;
    };

    it('are ignored when reading and joining, and swept when a run is created or resumed', async () => {
      await crashedRun({ app: 'published' });
      const planted = plant();
      writeFileSync(path.join(dir(), 'packages', 'notes.txt'), 'a user file');
      expect((await readJournal(dir()))!.packages.map((r) => r.name)).toEqual(PACKAGES.map((p) => p.name));
      expect((await openJournal(dir(), opts({ runId: 'crashed' }))).mode).toBe('joined');
      for (const f of planted) expect(existsSync(f)).toBe(true);
      expect((await openJournal(dir(), opts({ runId: 'run-2' }))).mode).toBe('resumed');
      for (const f of planted) expect(existsSync(f)).toBe(false);
      expect(existsSync(path.join(dir(), 'packages', 'notes.txt'))).toBe(true);
    });
  });

  describe('options', () => {
    it.each([
      ['a duplicate package', { packages: [PACKAGES[0], PACKAGES[0]] }],
      ['an empty runId', { runId: '' }],
      ['an unknown resume mode', { resume: 'always' as 'auto' }],
      ['a package without a version', { packages: [{ name: 'x', version: '' }] }],
    ])('refuses %s with EBADOPTIONS', async (_what, over) => {
      await expect(openJournal(dir(), opts(over))).rejects.toMatchObject({ code: 'EBADOPTIONS' });
      expect(existsSync(runFile())).toBe(false);
    });
  });
});

describe('readJournal and clearJournal', () => {
  const tmp = useTempDir('lockstep-journal-');
  const dir = () => path.join(tmp(), 'j');
  const opts = (runId: string): OpenJournalOptions => ({
    runId,
    sha: SHA_A,
    target: 'publish',
    registry: '',
    packages: PACKAGES,
    resume: 'auto',
  });

  it('reads nothing where there is no run', async () => {
    expect(await readJournal(dir())).toBeUndefined();
    mkdirSync(dir(), { recursive: true });
    expect(await readJournal(dir())).toBeUndefined();
  });

  it('reads the run, its records in order, the missing ones and the others', async () => {
    const { journal } = await openJournal(dir(), opts('r1'));
    await journal.transition('app', 'packing');
    writeFileSync(path.join(dir(), 'packages', 'extra.json'), JSON.stringify({ schema: 1, name: 'extra', version: '1.0.0', status: 'pending', attempts: 0, updatedAt: 'x' }));
    require('fs').rmSync(path.join(dir(), 'packages', recordFileName('@ws/util')));
    const snap = await readJournal(dir());
    expect(snap!.run.runId).toBe('r1');
    expect(snap!.packages.map((r) => [r.name, r.status])).toEqual([
      ['@ws/core', 'pending'],
      ['app', 'packing'],
    ]);
    expect(snap!.missing).toEqual(['@ws/util']);
    expect(snap!.others.map((r) => r.name)).toEqual(['extra']);
    expect(() => journal.all()).toThrow(expect.objectContaining({ code: 'EJOURNALCORRUPT', message: expect.stringContaining('missing') }));
  });

  it('clearJournal removes the run and its records, and says whether there was one', async () => {
    expect(await clearJournal(dir())).toBe(false);
    await openJournal(dir(), opts('r1'));
    expect(await clearJournal(dir())).toBe(true);
    expect(await readJournal(dir())).toBeUndefined();
    expect(readdirSync(dir()).filter((e) => e !== '.lock')).toEqual([]);
    expect(await clearJournal(dir())).toBe(false);
    expect((await openJournal(dir(), opts('r2'))).mode).toBe('created');
  });
});

describe('recordFileName', () => {
  it.each([
    ['left-pad', 'left-pad.json'],
    ['@scope/pkg', '@scope+pkg.json'],
    ['a.b_c~d', 'a.b_c~d.json'],
    ['JSONStream', '%4A%53%4F%4E%53tream.json'],
    ['.hidden', '%2Ehidden.json'],
    ['a+b', 'a%2Bb.json'],
    ['../../etc/passwd', '%2E.+..+etc+passwd.json'],
    ['ü', '%C3%BC.json'],
  ])('%s → %s', (name, file) => {
    expect(recordFileName(name)).toBe(file);
  });

  it('is injective over names that look alike', () => {
    const names = ['@a/b', 'a+b', '@a+b', 'A', 'a', '%41', '.a', '%2Ea', 'a.json', 'a.json.json'];
    expect(new Set(names.map(recordFileName)).size).toBe(names.length);
    for (const n of names) expect(recordFileName(n)).not.toMatch(/[/\\]/);
  });
});
