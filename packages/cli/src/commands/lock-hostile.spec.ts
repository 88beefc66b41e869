import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertFreshDist } from '../../../core/src/test-utils/fresh-dist';

/**
 * What a hostile or careless user (or another machine sharing the git remote)
 * can throw at the `lockstep` binary: absurd TTLs, resource names and owners
 * with escape sequences or of 10k characters, lease records planted on disk
 * or pushed to the remote with terminal escapes and insane TTLs, and plain bad
 * input that must end as a coded error, never EINTERNAL. Real processes of the
 * built binary (build first: npm run build).
 */

const BIN = path.join(__dirname, '..', '..', 'dist', 'bin.js');

/** Generous: each call starts node (and git); the machine may be loaded. */
const TIMEOUT = 60_000;
// dist/bin.js (and the core dist it loads) must be built from the current sources.
beforeAll(() => assertFreshDist(['packages/core', 'packages/cli']), TIMEOUT); // runs tsc -b --dry
const ESC = '\x1b';
/** Bytes a terminal acts on, other than newline and tab. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]/;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe('lockstep binary against hostile input', () => {
  let dir: string;
  let lockDir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-hostile-'));
    lockDir = path.join(dir, 'locks');
    mkdirSync(lockDir, { mode: 0o700 });
    env = { ...process.env, LOCKSTEP_LOCK_DIR: lockDir, HOME: dir };
    delete env.LOCKSTEP_OWNER;
    delete env.LOCKSTEP_MAX_TTL;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const lockstep = (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run => {
    const result = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd ?? dir, env: { ...env, ...options.env }, encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const json = (run: Run) => JSON.parse(run.stdout);
  /** Nothing a terminal would act on, in either stream. */
  const expectClean = (run: Run) => {
    expect(run.stdout).not.toMatch(RAW_CONTROL);
    expect(run.stderr).not.toMatch(RAW_CONTROL);
    expect(run.stdout).not.toContain(ESC);
    expect(run.stderr).not.toContain(ESC);
  };

  describe('TTLs', () => {
    const accepted: [string, number][] = [
      ['1s', 1000],
      ['90s', 90_000],
      ['1m30s500ms', 90_500],
      ['15m', 900_000],
      ['1h30m', 5_400_000],
      ['1d12h', 129_600_000],
      ['7d', 604_800_000],
      ['1.5s', 1500],
    ];
    it.each(accepted)('accepts --ttl %s (%d ms)', (ttl, ms) => {
      const run = lockstep(['lock', 'acquire', '--resource', 'package:t', '--owner', 'o', '--ttl', ttl, '--json']);
      expect(run.status).toBe(0);
      expect(json(run).data.lease.ttlMs).toBe(ms);
    }, TIMEOUT);

    const refused: [string, string][] = [
      ['99999999999999999999999h', 'is too long'],
      ['1e30ms', 'has an exponent'],
      ['1ms', 'is too short: it must be between 1s and 7d'],
      ['999ms', 'is too short'],
      ['7d1s', 'is too long: it must be between 1s and 7d'],
      ['8d', 'is too long'],
      ['1h1h', "repeats the unit 'h'"],
      ['30m1h', "has 'h' after 'm'"],
      ['-5m', 'is negative'],
      ['-0.5s', 'is negative'],
      ['30', 'has no unit'],
      ['0s', 'must be longer than zero'],
      ['1.0005s', 'is not a whole number of milliseconds'],
      ['forever', 'is not a duration'],
    ];
    it.each(refused)('refuses --ttl %s: EBADDURATION "%s", exit 2, a hint naming the limits', (ttl, fragment) => {
      const run = lockstep(['lock', 'acquire', '--resource', 'package:t', '--owner', 'o', '--ttl', ttl, '--json']);
      expect(run.status).toBe(2);
      expect(json(run).error).toEqual({ code: 'EBADDURATION', message: expect.stringContaining(fragment), hint: expect.stringMatching(/1s and 7d|30s, 15m/) });
    }, TIMEOUT);

    it('a negative TTL reaches the duration parser, written either way, and renew checks the same limits', () => {
      for (const args of [['--ttl', '-5m'], ['--ttl=-5m']]) {
        const run = lockstep(['lock', 'acquire', '--resource', 'package:t', ...args]);
        expect(run.status).toBe(2);
        expect(run.stderr).toMatch(/^lockstep: \[EBADDURATION\] The TTL '-5m' is negative.*\n {2}Hint: .*30s, 15m/);
      }
      const wait = lockstep(['lock', 'acquire', '--resource', 'package:t', '--wait', '-5s', '--json']);
      expect(json(wait).error).toMatchObject({ code: 'EBADDURATION', message: expect.stringContaining("The wait '-5s' is negative") });
      expect(lockstep(['lock', 'acquire', '--resource', 'package:t', '--owner', 'o', '--ttl', '1m']).status).toBe(0);
      const renew = lockstep(['lock', 'renew', '--resource', 'package:t', '--owner', 'o', '--ttl', '8d', '--json']);
      expect([renew.status, json(renew).error.code]).toEqual([2, 'EBADDURATION']);
      // A value that starts with '-' and is not a number is still taken for an option, with a way out.
      const owner = lockstep(['lock', 'acquire', '--resource', 'package:t', '--owner', '-x', '--json']);
      expect(json(owner).error).toMatchObject({ code: 'EBADOPTIONS', message: expect.stringContaining('needs a value'), hint: expect.any(String) });
      expect(json(owner).error.message).toContain('--owner=-');
    }, TIMEOUT);

    it('LOCKSTEP_MAX_TTL raises (or lowers) the maximum, up to 365d; a bad one is EBADDURATION naming it', () => {
      const month = lockstep(['lock', 'acquire', '--resource', 'package:t', '--ttl', '20d', '--json'], { env: { LOCKSTEP_MAX_TTL: '30d' } });
      expect(month.status).toBe(0);
      expect(json(month).data.lease.ttlMs).toBe(20 * 86_400_000);
      const over = lockstep(['lock', 'acquire', '--resource', 'package:u', '--ttl', '31d', '--json'], { env: { LOCKSTEP_MAX_TTL: '30d' } });
      expect(json(over).error).toMatchObject({ code: 'EBADDURATION', message: expect.stringContaining('between 1s and 30d (the maximum is set by LOCKSTEP_MAX_TTL)') });
      // Without --ttl the default 30m is capped by a lower maximum.
      const low = lockstep(['lock', 'acquire', '--resource', 'package:v', '--json'], { env: { LOCKSTEP_MAX_TTL: '10m' } });
      expect(json(low).data.lease.ttlMs).toBe(600_000);
      for (const bad of ['999d', 'abc', '-1d']) {
        const run = lockstep(['lock', 'acquire', '--resource', 'package:w', '--json'], { env: { LOCKSTEP_MAX_TTL: bad } });
        expect(run.status).toBe(2);
        expect(json(run).error).toMatchObject({ code: 'EBADDURATION', message: expect.stringContaining('LOCKSTEP_MAX_TTL'), hint: expect.any(String) });
      }
    }, TIMEOUT);
  });

  describe('resource names and owners', () => {
    it('refuses names with escape sequences or bidi controls and 10k-character names (EBADRESOURCE, exit 2), echoing them escaped and cut', () => {
      for (const resource of [`package:a${ESC}[2Jb`, `group:${ESC}]0;title\x07`, 'repo:main\u202egnp.exe', `package:${'a'.repeat(10_000)}`, `path:${'d/'.repeat(5_000)}`]) {
        for (const verb of ['acquire', 'status', 'break']) {
          const run = lockstep(['lock', verb, '--resource', resource, ...(verb === 'break' ? ['--reason', 'r'] : [])]);
          expect(run.status).toBe(2);
          expect(run.stderr).toMatch(/^lockstep: \[EBADRESOURCE\] .*(control characters|too long).*\n {2}Hint: /);
          expect(run.stderr.length).toBeLessThan(1000);
          expectClean(run);
        }
      }
      const asJson = lockstep(['lock', 'acquire', '--resource', `package:a${ESC}[2J`, '--json']);
      expect(json(asJson).error).toMatchObject({ code: 'EBADRESOURCE', message: expect.stringContaining('\\u001b[2J'), hint: expect.stringContaining('printable') });
      expectClean(asJson);
      expect(lockstep(['lock', 'status', '--json']).stdout).toContain('"leases":[]');
    }, TIMEOUT);

    it('refuses owners with control characters or over 128 characters (EBADOPTIONS), from --owner and LOCKSTEP_OWNER', () => {
      const flag = lockstep(['lock', 'acquire', '--resource', 'package:x', '--owner', `me${ESC}[2J`]);
      expect(flag.status).toBe(2);
      expect(flag.stderr).toMatch(/\[EBADOPTIONS\] The owner \(--owner\) 'me\\u001b\[2J' contains control characters/);
      expectClean(flag);
      const fromEnv = lockstep(['lock', 'acquire', '--resource', 'package:x', '--json'], { env: { LOCKSTEP_OWNER: 'o'.repeat(129) } });
      expect(json(fromEnv).error).toMatchObject({ code: 'EBADOPTIONS', message: expect.stringContaining('LOCKSTEP_OWNER'), hint: expect.stringContaining('128') });
      expect(lockstep(['lock', 'acquire', '--resource', 'package:x', '--owner', 'o'.repeat(128)]).status).toBe(0);
    }, TIMEOUT);
  });

  describe('a lease record planted in the local lock directory', () => {
    const plant = (id: string, fields: Record<string, unknown>) => {
      const entry = path.join(lockDir, 'leases', createHash('sha256').update(id).digest('hex').slice(0, 32));
      mkdirSync(path.join(lockDir, 'leases', 'claims'), { recursive: true, mode: 0o700 });
      mkdirSync(entry, { mode: 0o700 });
      const at = new Date().toISOString();
      const record = { schema_version: 1, resource: id, owner: 'o', nonce: 'n', ttlMs: 3_600_000, acquiredAt: at, renewedAt: at, hostname: 'elsewhere', pid: 4242, rev: 'r1', ...fields };
      // ttlMs 'INF' stands for 1e400, which JSON.parse reads as Infinity (JSON.stringify cannot write it).
      writeFileSync(path.join(entry, 'lease.json'), JSON.stringify(record).replace('"ttlMs":"INF"', '"ttlMs":1e400'));
    };
    const evilOwner = `${ESC}[2J${ESC}]0;owned\x07mallory\u202e${'M'.repeat(10_000)}`;

    it('lock status and a conflicting acquire show it escaped and cut; an insane ttl is shown as expired, not "Invalid"; lock break removes it', () => {
      plant('package:live', { owner: evilOwner, hostname: `h${ESC}[31m` });
      plant('package:huge', { owner: `eve${ESC}[2J`, ttlMs: 3.6e29 });

      const status = lockstep(['lock', 'status']);
      expect(status.status).toBe(0);
      expectClean(status);
      const lines = status.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^package:huge\s+eve\\u001b\[2J expired: its record cannot be believed/);
      expect(lines[1]).toMatch(/^package:live\s+\\u001b\[2J\\u001b\]0;owned\\u0007mallory\\u202eM+… until ~\d\d:\d\d:\d\d \(ttl 1h\), pid 4242 on h\\u001b\[31m since/);
      expect(status.stdout).not.toContain('Invalid');
      expect(lines[1].length).toBeLessThan(600);

      const asJson = lockstep(['lock', 'status', '--json']);
      expectClean(asJson);
      const leases = json(asJson).data.leases;
      expect(leases[0]).toMatchObject({ resource: 'package:huge', owner: `eve${ESC}[2J`, expired: true, remainingMs: 0, unsound: expect.stringContaining('3.6e+29') });
      expect(leases[1]).toMatchObject({ resource: 'package:live', expired: false, hostname: `h${ESC}[31m` });
      expect(leases[1].owner.startsWith(`${ESC}[2J${ESC}]0;owned\x07mallory\u202eMMM`)).toBe(true);
      expect(leases[1].owner.length).toBeLessThanOrEqual(4096);

      const conflict = lockstep(['lock', 'acquire', '--resource', 'package:live', '--owner', 'me']);
      expect(conflict.status).toBe(4);
      expect(conflict.stderr).toMatch(/^lockstep: \[ELEASECONFLICT\] Could not acquire package:live: held by \\u001b\[2J.*\n {2}Hint: .*lock break/);
      expectClean(conflict);
      const conflictJson = lockstep(['lock', 'acquire', '--resource', 'package:live', '--owner', 'me', '--json']);
      expect(json(conflictJson).error.code).toBe('ELEASECONFLICT');
      expectClean(conflictJson);

      // The insane one counts as expired: taken over at once.
      const takeover = lockstep(['lock', 'acquire', '--resource', 'package:huge', '--owner', 'me']);
      expect(takeover.status).toBe(0);
      expect(takeover.stdout).toMatch(/took over the expired lease of eve\\u001b\[2J, whose record could not be believed/);
      expectClean(takeover);

      const broke = lockstep(['lock', 'break', '--resource', 'package:live', '--reason', 'planted by mallory', '--owner', 'admin', '--json']);
      expect(broke.status).toBe(0);
      expectClean(broke);
      expect(json(broke).data).toEqual({
        backend: 'local',
        resource: 'package:live',
        broken: true,
        holder: expect.objectContaining({ resource: 'package:live', pid: 4242, expired: false }),
        reason: 'planted by mallory',
        by: 'admin',
      });
      expect(broke.stderr).toMatch(/^\[lockstep\] !!! Broke the lease on package:live held by \\u001b\[2J.*since \d{4}-\d\d-\d\dT.*Broken by admin; reason: planted by mallory\n$/);
      expect(json(lockstep(['lock', 'status', '--json'])).data.leases.map((l: { owner: string }) => l.owner)).toEqual(['me']);
    }, TIMEOUT);

    it('lock gc removes a record with an insane ttl', () => {
      plant('package:neg', { ttlMs: -1 });
      plant('package:inf', { ttlMs: 'INF' });
      const gc = lockstep(['lock', 'gc', '--json']);
      expect(gc.status).toBe(0);
      expect(json(gc).data.removed.map((l: { resource: string }) => l.resource).sort()).toEqual(['package:inf', 'package:neg']);
    }, TIMEOUT);
  });

  describe('a lease record pushed to the git remote by another machine', () => {
    let clone: string;
    let remote: string;
    const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    const ref = (id: string) => `refs/lockstep/locks/${createHash('sha256').update(id).digest('hex')}`;
    const push = (id: string, fields: Record<string, unknown>) => {
      const at = new Date().toISOString();
      const record = { schema_version: 1, resource: id, owner: 'o', nonce: 'n', ttlMs: 3_600_000, acquiredAt: at, renewedAt: at, hostname: 'elsewhere', pid: 7, sequence: 0, ...fields };
      const oid = git(remote, 'commit-tree', '4b825dc642cb6eb9a060e54bf8d69288fbee4904', '-m', JSON.stringify(record));
      git(remote, 'update-ref', ref(id), oid);
      return oid;
    };
    const remoteRefs = () => git(remote, 'for-each-ref', '--format=%(refname)', 'refs/lockstep/');

    beforeEach(() => {
      Object.assign(env, {
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'test',
        GIT_AUTHOR_EMAIL: 'test@example.com',
        GIT_COMMITTER_NAME: 'test',
        GIT_COMMITTER_EMAIL: 'test@example.com',
      });
      remote = path.join(dir, 'remote.git');
      git(dir, 'init', '--bare', '--quiet', remote);
      git(dir, 'init', '--quiet', 'seed');
      git(path.join(dir, 'seed'), 'commit', '--allow-empty', '--quiet', '-m', 'initial');
      git(path.join(dir, 'seed'), 'push', '--quiet', remote, 'HEAD:refs/heads/main');
      git(dir, 'clone', '--quiet', remote, 'clone');
      clone = path.join(dir, 'clone');
    }, TIMEOUT);

    const inClone = (...args: string[]) => lockstep([...args, '--backend', 'git'], { cwd: clone });

    it('lock status and a conflicting acquire show it escaped; an insane ttl counts as expired; lock break deletes it', () => {
      push('group:deploy', { owner: `${ESC}[2J${ESC}[3Jmallory${'M'.repeat(10_000)}`, hostname: `evil${ESC}[31m`, acquiredAt: `${ESC}[5m` });
      push('group:huge', { owner: `eve${ESC}[2J`, ttlMs: 3.6e29 });

      const status = inClone('lock', 'status');
      expect(status.status).toBe(0);
      expectClean(status);
      expect(status.stdout).toMatch(/^group:deploy\s+\\u001b\[2J\\u001b\[3JmalloryM+… until it expires/m);
      expect(status.stdout).toMatch(/^group:huge\s+eve\\u001b\[2J expired: its record cannot be believed/m);
      expect(status.stdout).not.toContain('Invalid');
      const asJson = inClone('lock', 'status', '--json');
      expectClean(asJson);
      expect(json(asJson).data.leases.map((l: { resource: string; expired: boolean }) => [l.resource, l.expired])).toEqual([
        ['group:deploy', false],
        ['group:huge', true],
      ]);

      const conflict = inClone('lock', 'acquire', '--resource', 'group:deploy', '--owner', 'me');
      expect(conflict.status).toBe(4);
      expect(conflict.stderr).toMatch(/^lockstep: \[ELEASECONFLICT\] Could not acquire group:deploy: held by \\u001b\[2J\\u001b\[3JmalloryM+… .*; pid 7 on evil\\u001b\[31m, acquired \?\)/);
      expect(conflict.stderr.length).toBeLessThan(2000);
      expectClean(conflict);

      const gc = inClone('lock', 'gc', '--json');
      expect(json(gc).data.removed.map((l: { resource: string }) => l.resource)).toEqual(['group:huge']);
      expectClean(gc);

      const broke = inClone('lock', 'break', '--resource', 'group:deploy', '--reason', 'pushed by mallory', '--json');
      expect(broke.status).toBe(0);
      expectClean(broke);
      expect(json(broke).data).toMatchObject({ backend: 'git', resource: 'group:deploy', broken: true, holder: { pid: 7, hostname: `evil${ESC}[31m` }, reason: 'pushed by mallory' });
      expect(broke.stderr).toMatch(/^\[lockstep\] !!! Broke the lease on group:deploy held by \\u001b\[2J.*since \? .*reason: pushed by mallory\n$/);
      expect(remoteRefs()).toBe('');
      expect(inClone('lock', 'acquire', '--resource', 'group:deploy', '--owner', 'me').status).toBe(0);
    }, TIMEOUT);

    it('lock break of a live lease in text: who held it, since when, why; then nothing is left to break', () => {
      expect(lockstep(['lock', 'acquire', '--resource', 'group:deploy', '--owner', 'alice', '--backend', 'git'], { cwd: clone }).status).toBe(0);
      const broke = inClone('lock', 'break', '--resource', 'group:deploy', '--reason', 'alice went home', '--owner', 'bob');
      expect(broke.status).toBe(0);
      expect(broke.stdout).toMatch(/^broke the lease on group:deploy\n {2}holder: +alice, pid \d+ on .*\n {2}acquired: +\d{4}-.*\n {2}state: +it was live.*\n {2}broken by: +bob\n {2}reason: +alice went home\n/);
      expect(broke.stderr).toContain('!!! Broke the lease on group:deploy held by alice since');
      const again = inClone('lock', 'break', '--resource', 'group:deploy', '--reason', 'again', '--json');
      expect([again.status, json(again).data.broken]).toEqual([0, false]);
    }, TIMEOUT);
  });

  describe('usage errors, never EINTERNAL', () => {
    it('lock break without --reason (or with an empty one) exits 2 and removes nothing', () => {
      expect(lockstep(['lock', 'acquire', '--resource', 'package:x', '--owner', 'alice']).status).toBe(0);
      for (const extra of [[], ['--reason', ''], ['--reason', '   ']]) {
        const run = lockstep(['lock', 'break', '--resource', 'package:x', ...extra]);
        expect(run.status).toBe(2);
        expect(run.stderr).toMatch(/^lockstep: \[EBADOPTIONS\] lock break needs --reason.*\n {2}Hint: /);
      }
      const run = lockstep(['lock', 'break', '--resource', 'package:x', '--json']);
      expect([run.status, json(run).error.code]).toEqual([2, 'EBADOPTIONS']);
      expect(lockstep(['lock', 'break', '--reason', 'r']).status).toBe(2);
      expect(json(lockstep(['lock', 'status', '--json'])).data.leases).toHaveLength(1);
    }, TIMEOUT);

    it('lock break is documented in --help', () => {
      const help = lockstep(['lock', 'break', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^Usage: lockstep lock break --resource R --reason/);
      expect(help.stdout).toContain('force-with-lease');
      expect(lockstep(['--help']).stdout).toContain('lock break --resource R --reason');
      expect(lockstep(['lock', 'acquire', '--help']).stdout).toContain('LOCKSTEP_MAX_TTL');
    }, TIMEOUT);

    it('state show|clear --cache-dir <a file or a dangling symlink> is EBADOPTIONS with a hint (exit 2)', () => {
      writeFileSync(path.join(dir, 'a-file'), 'x');
      symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
      mkdirSync(path.join(dir, 'cache'));
      writeFileSync(path.join(dir, 'cache', 'lockstep'), 'a file where a directory belongs');
      for (const [cacheDir, fragment, verbs] of [
        ['a-file', 'is not a directory', ['show', 'clear']],
        ['dangling', 'dangling', ['show', 'clear']],
        // a file where the journal's directory belongs: show cannot read it (clear finds nothing to clear)
        ['cache', 'ENOTDIR', ['show']],
      ] as const) {
        for (const verb of verbs) {
          const run = lockstep(['state', verb, '--cache-dir', cacheDir]);
          expect(run.stderr).toMatch(new RegExp(`^lockstep: \\[EBADOPTIONS\\] .*${fragment}.*\\n {2}Hint: `));
          expect(run.status).toBe(2);
          const asJson = lockstep(['state', verb, '--cache-dir', cacheDir, '--json']);
          expect(json(asJson).error).toMatchObject({ code: 'EBADOPTIONS', hint: expect.stringContaining('--cache-dir') });
        }
      }
    }, TIMEOUT);

    it('other bad input ends as a coded error', () => {
      const cases: [string[], NodeJS.ProcessEnv, string][] = [
        [['group', 'status', '--group', `g${ESC}[2J`], {}, 'EBADOPTIONS'],
        [['group', 'run', '--group', 'g'.repeat(300), '--', 'true'], {}, 'EBADOPTIONS'],
        [['group', 'run', '--group', 'g', '--wait-timeout', '-1s', '--', 'true'], {}, 'EBADDURATION'],
        [['lock', 'acquire', '--resource', 'package:x', '--wait', '99999999999999999999d'], {}, 'EBADDURATION'],
        [['lock', 'status'], { LOCKSTEP_LOCK_DIR: path.join(dir, 'a-file') }, 'ELOCKDIRUNSAFE'],
        [['lock', 'status', '--backend', 'git', '--remote', '--upload-pack=x'], {}, 'EBADOPTIONS'],
        [[`--${ESC}[2J`], {}, 'EBADOPTIONS'],
      ];
      writeFileSync(path.join(dir, 'a-file'), 'x');
      for (const [args, extraEnv, code] of cases) {
        // --json before a `--` (what follows it is the command's)
        const dashDash = args.indexOf('--');
        const withJson = dashDash === -1 ? [...args, '--json'] : [...args.slice(0, dashDash), '--json', ...args.slice(dashDash)];
        const run = lockstep(withJson, { env: extraEnv });
        const parsed = json(run);
        expect([args, parsed.error?.code]).toEqual([args, code]);
        expect(parsed.error.hint).toEqual(expect.any(String));
        expectClean(run);
      }
    }, TIMEOUT);
  });
});
