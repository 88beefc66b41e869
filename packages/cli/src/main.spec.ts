import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { acquireLock } from '@lockstep/core';
import { assertFreshDist } from '../../core/src/test-utils/fresh-dist';
import { COMMANDS, main } from './main';

// dist/bin.js (and the core dist it loads) must be built from the current sources.
beforeAll(() => assertFreshDist(['packages/core', 'packages/cli']), 60_000); // runs tsc -b --dry
// The tests that start the built binary: sized for a busy 2-core machine, where each node start can take seconds.
const BIN_TEST_MS = 60_000;

describe('lockstep CLI', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  let env: NodeJS.ProcessEnv;
  const io = () => ({ out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), cwd: dir, env });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-'));
    mkdirSync(path.join(dir, 'locks'), { mode: 0o700 });
    mkdirSync(path.join(dir, 'out'));
    env = { ...process.env, LOCKSTEP_LOCK_DIR: path.join(dir, 'locks') };
    delete env.LOCKSTEP_OWNER;
    out = [];
    err = [];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the holder of the generate lock of a path, as text and as JSON, beside the leases', async () => {
    const lock = await acquireLock(`path:${path.join(dir, 'out')}`, { command: 'nx run app:gen', lockDir: env.LOCKSTEP_LOCK_DIR });
    expect(await main(['lock', 'status', '--resource', 'path:out'], io())).toBe(0);
    expect(out[0]).toMatch(/^no leases conflict with path:.*\/out\ngenerate lock path:.*\/out: alive, held by pid \d+ .*nx run app:gen/);
    out = [];
    expect(await main(['lock', 'status', '--resource', 'path:out', '--json'], io())).toBe(0);
    const json = JSON.parse(out[0]);
    expect(json).toMatchObject({ schema_version: 1, ok: true, data: { leases: [], lock: { state: 'alive', holder: { command: 'nx run app:gen' }, queue: [] } } });
    expect(JSON.stringify(json)).not.toContain('token');
    await lock.release();
  });

  it('exits 2 with a hint for usage errors', async () => {
    expect(await main(['lock', 'acquire'], io())).toBe(2);
    expect(err.join('\n')).toMatch(/EBADOPTIONS[\s\S]*Hint:/);
    expect(await main(['lock', 'status', '--resource', 'moon:x'], io())).toBe(2);
    expect(await main(['frobnicate'], io())).toBe(2);
    expect(err.join('\n')).toContain("Unknown command 'frobnicate'");
    expect(await main(['--bogus'], io())).toBe(2);
    expect(await main([], io())).toBe(2);
  });

  it('prints the usage with --help and -h (exit 0), listing every command of the table', async () => {
    for (const flag of ['--help', '-h']) {
      out = [];
      expect(await main([flag], io())).toBe(0);
      for (const command of COMMANDS) expect(out[0]).toContain(`${command.words.join(' ')} ${command.synopsis}`.trimEnd());
      expect(out[0]).toMatch(/Exit codes: 0 ok, 1 failure, 2 usage error, 4 lock conflict/);
    }
  });

  it('writes errors as the JSON envelope on stdout with --json, even for unknown commands', async () => {
    expect(await main(['frobnicate', '--json'], io())).toBe(2);
    expect(JSON.parse(out[0])).toEqual({ schema_version: 1, ok: false, error: { code: 'EBADOPTIONS', message: "Unknown command 'frobnicate'.", hint: expect.any(String) } });
    expect(err).toEqual([]);
  });

  it('prints its version', async () => {
    expect(await main(['--version'], io())).toBe(0);
    expect(out[0]).toMatch(/^\d+\.\d+\.\d+/);
  });

  describe('as the lockstep binary (build first: npx tsc -b packages/core packages/cli)', () => {
    const bin = path.join(__dirname, '..', 'dist', 'bin.js');
    const lockstep = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: dir, env: { ...env, ...extraEnv }, encoding: 'utf8' });

    it('runs', () => {
      expect(execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })).toContain('lock acquire');
      const result = lockstep(['lock', 'status', '--resource', 'path:out', '--json']);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, data: { leases: [], lock: { state: 'free' } } });
    }, BIN_TEST_MS);

    it('exits 4 when a second owner acquires what the first holds, and 0 once it is released', () => {
      const first = lockstep(['lock', 'acquire', '--resource', 'package:@acme/a', '--ttl', '10m'], { LOCKSTEP_OWNER: 'ci@runner-1' });
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/^acquired package:@acme\/a for ci@runner-1 until ~\d\d:\d\d:\d\d \(ttl 10m\)\n$/);
      // The lease outlives the process that took it: a later command of the same owner renews it.
      expect(lockstep(['lock', 'renew', '--resource', 'package:@acme/a'], { LOCKSTEP_OWNER: 'ci@runner-1' }).status).toBe(0);

      const second = lockstep(['lock', 'acquire', '--resource', 'package:@acme/a', '--owner', 'ci@runner-2']);
      expect(second.status).toBe(4);
      expect(second.stdout).toBe('');
      expect(second.stderr).toMatch(/^lockstep: \[ELEASECONFLICT\] Could not acquire package:@acme\/a: held by ci@runner-1 [\s\S]*\n {2}Hint: /);
      const asJson = lockstep(['lock', 'acquire', '--resource', 'package:@acme/a', '--owner', 'ci@runner-2', '--json']);
      expect(asJson.status).toBe(4);
      expect(JSON.parse(asJson.stdout)).toMatchObject({ schema_version: 1, ok: false, error: { code: 'ELEASECONFLICT' } });
      expect(lockstep(['lock', 'release', '--resource', 'package:@acme/a', '--owner', 'ci@runner-2']).status).toBe(4);

      expect(lockstep(['lock', 'release', '--resource', 'package:@acme/a', '--owner', 'ci@runner-1']).status).toBe(0);
      expect(lockstep(['lock', 'acquire', '--resource', 'package:@acme/a', '--owner', 'ci@runner-2']).status).toBe(0);
    }, BIN_TEST_MS);
  });
});
