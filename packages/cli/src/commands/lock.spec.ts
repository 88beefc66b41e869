import { createHash } from 'crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { waitFor } from '../../../core/src/test-utils/wait-for';
import { sleep } from '../../../core/src/util/sleep';
import { COMMANDS, main } from '../main';

/** `lockstep lock …` in-process, against a private lock dir (never the user's). */
describe('lockstep lock (local backend)', () => {
  let dir: string;
  let lockDir: string;
  let out: string[];
  let err: string[];
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-lock-'));
    lockDir = path.join(dir, 'locks');
    mkdirSync(lockDir, { mode: 0o700 });
    mkdirSync(path.join(dir, 'out'));
    env = { ...process.env, LOCKSTEP_LOCK_DIR: lockDir };
    delete env.LOCKSTEP_OWNER;
    out = [];
    err = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...argv: string[]) => main(argv, { out: (t) => void out.push(t), err: (t) => void err.push(t), cwd: dir, env });
  /** Runs with --json and returns [exit code, parsed stdout]. */
  const runJson = async (...argv: string[]): Promise<[number, any]> => {
    out = [];
    const code = await run(...argv, '--json');
    expect(out).toHaveLength(1);
    return [code, JSON.parse(out[0])];
  };
  const leaseFile = (id: string) => path.join(lockDir, 'leases', createHash('sha256').update(id).digest('hex').slice(0, 32), 'lease.json');
  const expire = (id: string) => {
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(leaseFile(id), old, old);
  };
  const leaseView = (fields: object = {}) => ({
    schema_version: 1,
    backend: 'local',
    resource: expect.any(String),
    owner: expect.any(String),
    nonce: expect.stringMatching(/^[0-9a-f]+$/),
    ttlMs: expect.any(Number),
    acquiredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    renewedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    hostname: os.hostname(),
    pid: expect.any(Number),
    expired: false,
    remainingMs: expect.any(Number),
    ...fields,
  });

  describe('acquire', () => {
    it('acquires: one readable line, or the LeaseAcquireResult as JSON', async () => {
      expect(await run('lock', 'acquire', '--resource', 'package:@acme/a', '--owner', 'ci@runner-3')).toBe(0);
      expect(out).toEqual([expect.stringMatching(/^acquired package:@acme\/a for ci@runner-3 until ~\d\d:\d\d:\d\d \(ttl 30m\)$/)]);
      const [code, json] = await runJson('lock', 'acquire', '--resource', 'package:@acme/b', '--owner', 'ci@runner-3', '--ttl', '1h30m');
      expect(code).toBe(0);
      expect(json).toEqual({
        schema_version: 1,
        ok: true,
        data: { lease: leaseView({ resource: 'package:@acme/b', owner: 'ci@runner-3', ttlMs: 5_400_000, remainingMs: 5_400_000 }), renewed: false, waitedMs: expect.any(Number) },
      });
    });

    it('renews when the same owner (LOCKSTEP_OWNER) acquires again, keeping the nonce', async () => {
      env.LOCKSTEP_OWNER = 'job-42';
      const [, first] = await runJson('lock', 'acquire', '--resource', 'group:release');
      const [code, again] = await runJson('lock', 'acquire', '--resource', 'group:release', '--ttl', '5m');
      expect(code).toBe(0);
      expect(again.data).toMatchObject({ renewed: true, lease: { owner: 'job-42', nonce: first.data.lease.nonce, ttlMs: 300_000 } });
      out = [];
      await run('lock', 'acquire', '--resource', 'group:release');
      expect(out[0]).toMatch(/^renewed group:release for job-42 until ~.*; this owner already held it$/);
    });

    it('defaults the owner to <user>@<host>', async () => {
      const [, json] = await runJson('lock', 'acquire', '--resource', 'package:x');
      expect(json.data.lease.owner).toBe(`${os.userInfo().username}@${os.hostname()}`);
    });

    it('exits 4 on a conflict: the error names the holder, with a hint', async () => {
      expect(await run('lock', 'acquire', '--resource', 'path:out', '--owner', 'alice')).toBe(0);
      expect(await run('lock', 'acquire', '--resource', 'repo:main', '--owner', 'bob')).toBe(4);
      expect(err.join('\n')).toMatch(/^lockstep: \[ELEASECONFLICT\] Could not acquire repo:main: conflicts with path:.*\/out, held by alice .*\n {2}Hint: /);
      const [code, json] = await runJson('lock', 'acquire', '--resource', 'path:out/sub', '--owner', 'bob');
      expect(code).toBe(4);
      expect(json).toEqual({ schema_version: 1, ok: false, error: { code: 'ELEASECONFLICT', message: expect.stringContaining('alice'), hint: expect.any(String) } });
    });

    it('reports a takeover of an expired lease', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'old', '--ttl', '1m');
      expire('package:x');
      out = [];
      expect(await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'new')).toBe(0);
      expect(out[0]).toMatch(/^acquired package:x for new until .*\n {2}took over the expired lease of old \(last renewed \d\d:\d\d:\d\d\)$/);
      await run('lock', 'acquire', '--resource', 'package:y', '--owner', 'old', '--ttl', '1m');
      expire('package:y');
      const [, json] = await runJson('lock', 'acquire', '--resource', 'package:y', '--owner', 'new');
      expect(json.data.tookOver).toEqual(leaseView({ resource: 'package:y', owner: 'old', expired: true, remainingMs: 0 }));
    });

    it('--wait keeps trying, says what it waits for on stderr, and acquires once the holder releases', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'a');
      const elsewhere = { out: () => undefined, err: () => undefined, cwd: dir, env };
      // The holder releases once b says it waits (not after a fixed delay, which a busy machine can
      // outrun before b's first try), and 200 ms later, so that b has waited at least that long.
      const releasing = waitFor(() => err.some((line) => line.startsWith('Waiting for')), { timeoutMs: 30_000, what: 'b to say that it waits' })
        .then(() => sleep(200))
        .then(() => main(['lock', 'release', '--resource', 'package:x', '--owner', 'a'], elsewhere));
      releasing.catch(() => undefined); // awaited below, after b has given up if it never said so
      const [code, json] = await runJson('lock', 'acquire', '--resource', 'package:x', '--owner', 'b', '--wait', '40s');
      expect(await releasing).toBe(0);
      expect(code).toBe(0);
      expect(json.data).toMatchObject({ lease: { owner: 'b' }, renewed: false });
      expect(json.data.waitedMs).toBeGreaterThanOrEqual(150);
      expect(err[0]).toMatch(/^Waiting for package:x: package:x held by a until ~/);
    }, 60_000);

    it('--wait gives up with exit 4', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'a');
      expect(await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'b', '--wait', '200ms')).toBe(4);
      expect(err.join('\n')).toMatch(/ELEASECONFLICT\] Could not acquire package:x after waiting/);
    });
  });

  describe('renew', () => {
    it('renews for the owner: the LeaseView as JSON, the new TTL if given', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'o', '--ttl', '10m');
      const [code, json] = await runJson('lock', 'renew', '--resource', 'package:x', '--owner', 'o');
      expect(code).toBe(0);
      expect(json).toEqual({ schema_version: 1, ok: true, data: leaseView({ resource: 'package:x', owner: 'o', ttlMs: 600_000, remainingMs: 600_000 }) });
      const [, longer] = await runJson('lock', 'renew', '--resource', 'package:x', '--owner', 'o', '--ttl', '2h');
      expect(longer.data.ttlMs).toBe(7_200_000);
      out = [];
      expect(await run('lock', 'renew', '--resource', 'package:x', '--owner', 'o')).toBe(0);
      expect(out[0]).toMatch(/^renewed package:x for o until ~\d\d:\d\d:\d\d \(ttl 2h\)$/);
    });

    it('exits 4 when another owner holds it, 1 when nobody does', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'o');
      const [notOwner, a] = await runJson('lock', 'renew', '--resource', 'package:x', '--owner', 'intruder');
      expect(notOwner).toBe(4);
      expect(a.error.code).toBe('ELEASENOTOWNER');
      const [notHeld, b] = await runJson('lock', 'renew', '--resource', 'package:nobody', '--owner', 'o');
      expect(notHeld).toBe(1);
      expect(b.error).toMatchObject({ code: 'ELEASENOTHELD', hint: expect.stringContaining('lockstep lock acquire --resource package:nobody') });
    });
  });

  describe('release', () => {
    it('releases for the owner; releasing nothing is not an error', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'o');
      const [code, json] = await runJson('lock', 'release', '--resource', 'package:x', '--owner', 'o');
      expect(code).toBe(0);
      expect(json.data).toEqual({ released: true, lease: leaseView({ resource: 'package:x', owner: 'o' }) });
      const [again, nothing] = await runJson('lock', 'release', '--resource', 'package:x', '--owner', 'o');
      expect(again).toBe(0);
      expect(nothing.data).toEqual({ released: false });
      out = [];
      await run('lock', 'release', '--resource', 'package:x', '--owner', 'o');
      expect(out[0]).toBe('package:x was not held: nothing to release');
    });

    it('exits 4 when another owner holds it', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'o');
      expect(await run('lock', 'release', '--resource', 'package:x', '--owner', 'p')).toBe(4);
      expect(err.join('\n')).toContain('[ELEASENOTOWNER]');
    });
  });

  describe('status', () => {
    it('lists every lease, or those conflicting with --resource', async () => {
      expect(await run('lock', 'status')).toBe(0);
      expect(out).toEqual(['no leases']);
      await run('lock', 'acquire', '--resource', 'path:out', '--owner', 'a');
      await run('lock', 'acquire', '--resource', 'package:p', '--owner', 'b');
      const [code, all] = await runJson('lock', 'status');
      expect(code).toBe(0);
      expect(all).toEqual({
        schema_version: 1,
        ok: true,
        data: { backend: 'local', resource: null, leases: [leaseView({ resource: 'package:p', owner: 'b' }), leaseView({ resource: `path:${dir}/out`, owner: 'a' })] },
      });
      const [, some] = await runJson('lock', 'status', '--resource', 'package:p');
      expect(some.data.leases.map((l: any) => l.owner)).toEqual(['b']);
      out = [];
      await run('lock', 'status', '--resource', 'package:q');
      expect(out).toEqual(['no leases conflict with package:q']);
      out = [];
      await run('lock', 'status');
      expect(out[0].split('\n')).toEqual([
        expect.stringMatching(/^package:p\s+b until ~\d\d:\d\d:\d\d \(ttl 30m\), pid \d+ on .* since \d\d:\d\d:\d\d$/),
        expect.stringMatching(/^path:.*\/out\s+a until ~/),
      ]);
    });

    it('for path: on the local backend also shows the generate lock of that directory', async () => {
      await run('lock', 'acquire', '--resource', 'path:out/sub', '--owner', 'a');
      const [, json] = await runJson('lock', 'status', '--resource', 'path:out');
      expect(json.data).toMatchObject({
        backend: 'local',
        resource: `path:${dir}/out`,
        leases: [{ resource: `path:${dir}/out/sub` }],
        lock: { key: expect.stringMatching(/^path:.*out$/), state: 'free', queue: [] },
      });
    });

    it('shows expired leases as expired', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'o', '--ttl', '1m');
      expire('package:x');
      const [, json] = await runJson('lock', 'status');
      expect(json.data.leases).toEqual([leaseView({ resource: 'package:x', expired: true, remainingMs: 0 })]);
      out = [];
      await run('lock', 'status');
      expect(out[0]).toMatch(/^package:x\s+o expired \(last renewed \d\d:\d\d:\d\d, ttl 1m\)/);
    });
  });

  describe('gc', () => {
    it('removes expired leases and says so', async () => {
      expect(await run('lock', 'gc')).toBe(0);
      expect(out).toEqual(['nothing to collect: no expired leases, no idle lock directories']);
      await run('lock', 'acquire', '--resource', 'package:old', '--owner', 'o', '--ttl', '1m');
      await run('lock', 'acquire', '--resource', 'package:live', '--owner', 'o');
      expire('package:old');
      const [code, json] = await runJson('lock', 'gc');
      expect(code).toBe(0);
      expect(json.data).toEqual({ backend: 'local', removed: [leaseView({ resource: 'package:old', expired: true, remainingMs: 0 })], lockDirs: [], lockDirsKept: [] });
      await run('lock', 'acquire', '--resource', 'package:old2', '--owner', 'o', '--ttl', '1m');
      expire('package:old2');
      out = [];
      await run('lock', 'gc');
      expect(out).toEqual(['removed 1 expired lease: package:old2 (o)']);
    });
  });

  describe('usage errors exit 2', () => {
    const expectUsage = async (code: string, ...argv: string[]) => {
      err = [];
      expect(await run(...argv)).toBe(2);
      expect(err.join('\n')).toMatch(new RegExp(`^lockstep: \\[${code}\\] .*\\n  Hint: `));
      const [jsonCode, json] = await runJson(...argv);
      expect(jsonCode).toBe(2);
      expect(json).toEqual({ schema_version: 1, ok: false, error: { code, message: expect.any(String), hint: expect.any(String) } });
    };

    it('refuses TTLs that are not durations', async () => {
      await expectUsage('EBADDURATION', 'lock', 'acquire', '--resource', 'package:x', '--ttl', '30');
      expect(err.join('\n')).toContain("The TTL '30' has no unit");
      await expectUsage('EBADDURATION', 'lock', 'acquire', '--resource', 'package:x', '--ttl', 'abc');
      await expectUsage('EBADDURATION', 'lock', 'acquire', '--resource', 'package:x', '--ttl', '0s');
      await expectUsage('EBADDURATION', 'lock', 'renew', '--resource', 'package:x', '--ttl', '10');
      await expectUsage('EBADDURATION', 'lock', 'acquire', '--resource', 'package:x', '--wait', '5');
      // Nothing was acquired along the way.
      expect(await run('lock', 'status', '--resource', 'repo:all')).toBe(0);
    });

    it('refuses an unknown namespace and a missing resource', async () => {
      await expectUsage('EBADRESOURCE', 'lock', 'acquire', '--resource', 'foo:x');
      await expectUsage('EBADRESOURCE', 'lock', 'status', '--resource', 'x');
      await expectUsage('EBADRESOURCE', 'lock', 'acquire', '--resource', 'package:');
      for (const verb of ['acquire', 'renew', 'release']) await expectUsage('EBADOPTIONS', 'lock', verb);
      await expectUsage('EBADOPTIONS', 'lock', 'acquire', '--resource', '');
    });

    it('refuses unknown options, stray arguments, an unknown backend, --remote without git, an empty owner', async () => {
      await expectUsage('EBADOPTIONS', 'lock', 'acquire', '--resource', 'package:x', '--bogus');
      expect(err.join('\n')).toContain("Unknown option '--bogus' for lockstep lock acquire");
      await expectUsage('EBADOPTIONS', 'lock', 'gc', 'now');
      await expectUsage('EBADOPTIONS', 'lock', 'acquire', '--resource');
      await expectUsage('EBADOPTIONS', 'lock', 'acquire', '--resource', 'package:x', '--backend', 'nfs');
      await expectUsage('EBADOPTIONS', 'lock', 'acquire', '--resource', 'package:x', '--remote', 'origin');
      await expectUsage('EBADOPTIONS', 'lock', 'acquire', '--resource', 'package:x', '--owner', ' ');
      await expectUsage('EBADOPTIONS', 'lock', 'frob');
      await expectUsage('EBADOPTIONS', 'lock');
    });

    it('--wait 0 means do not wait', async () => {
      await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'a');
      expect(await run('lock', 'acquire', '--resource', 'package:x', '--owner', 'b', '--wait', '0')).toBe(4);
    });
  });

  it('exits 1 for other failures, e.g. a lock directory others can write to', async () => {
    chmodSync(lockDir, 0o777);
    const [code, json] = await runJson('lock', 'status');
    expect(code).toBe(1);
    expect(json.error.code).toBe('ELOCKDIRUNSAFE');
  });

  it('prints the usage of every command and command family with --help, exit 0', async () => {
    for (const command of COMMANDS) {
      out = [];
      expect(await run(...command.words, '--help')).toBe(0);
      expect(out[0]).toMatch(new RegExp(`^Usage: lockstep ${command.words.join(' ')}`));
      out = [];
      expect(await run(...command.words, '--resource', 'package:x', '-h')).toBe(0);
      expect(out[0]).toContain(command.summary);
    }
    out = [];
    expect(await run('lock', '--help')).toBe(0);
    for (const verb of ['acquire', 'renew', 'release', 'status', 'gc']) expect(out[0]).toContain(`lock ${verb}`);
    expect(out[0]).not.toContain('state show');
    out = [];
    expect(await run('lock', 'acquire', '--help')).toBe(0);
    expect(out[0]).toMatch(/--resource R[\s\S]*--ttl D[\s\S]*--owner O[\s\S]*--wait D[\s\S]*--backend local\|git[\s\S]*--remote NAME[\s\S]*--json/);
  });
});
