import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../main';

/**
 * `lockstep lock … --backend git` against a real bare repository and two
 * clones of it (two "machines"). Needs the git backend of @lockstep/core
 * (lease/git.ts); against its stub these fail with EINTERNAL 'not implemented',
 * except the argument checks at the end, which never reach the backend.
 */
describe('lockstep lock --backend git', () => {
  // Every test (and the set-up) runs git, many times: sized for a busy 2-core machine,
  // where one git process can take a second or more to start.
  const GIT_TEST_MS = 120_000;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let out: string[];
  let err: string[];

  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-git-'));
    mkdirSync(path.join(dir, 'locks'), { mode: 0o700 });
    env = {
      ...process.env,
      LOCKSTEP_LOCK_DIR: path.join(dir, 'locks'),
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    };
    delete env.LOCKSTEP_OWNER;
    git(dir, 'init', '--bare', '--quiet', 'remote.git');
    git(dir, 'init', '--quiet', 'seed');
    git(path.join(dir, 'seed'), 'commit', '--allow-empty', '--quiet', '-m', 'initial');
    git(path.join(dir, 'seed'), 'push', '--quiet', path.join(dir, 'remote.git'), 'HEAD:refs/heads/main');
    for (const clone of ['a', 'b']) {
      git(dir, 'clone', '--quiet', path.join(dir, 'remote.git'), clone);
      mkdirSync(path.join(dir, clone, 'apps', 'web'), { recursive: true });
    }
    out = [];
    err = [];
  }, 60_000);
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (cwd: string, ...argv: string[]) => main([...argv, '--backend', 'git'], { out: (t) => void out.push(t), err: (t) => void err.push(t), cwd, env });
  const runJson = async (cwd: string, ...argv: string[]): Promise<[number, any]> => {
    out = [];
    const code = await run(cwd, ...argv, '--json');
    return [code, JSON.parse(out[0])];
  };
  const clone = (name: string, ...sub: string[]) => path.join(dir, name, ...sub);

  it('acquires in one clone, conflicts in the other (exit 4), and hands over on release', async () => {
    const [code, acquired] = await runJson(clone('a'), 'lock', 'acquire', '--resource', 'path:dist/app', '--owner', 'ci@runner-1', '--ttl', '10m');
    expect([code, err]).toEqual([0, []]);
    expect(acquired).toMatchObject({ ok: true, data: { renewed: false, lease: { backend: 'git', resource: 'path:dist/app', owner: 'ci@runner-1', ttlMs: 600_000, expired: false } } });

    // The other clone names the same directory from a subdirectory: same lease, so a conflict.
    const [conflict, refused] = await runJson(clone('b', 'apps', 'web'), 'lock', 'acquire', '--resource', 'path:../../dist', '--owner', 'ci@runner-2');
    expect(conflict).toBe(4);
    expect(refused.error).toMatchObject({ code: 'ELEASECONFLICT', message: expect.stringContaining('ci@runner-1') });

    const [, status] = await runJson(clone('b'), 'lock', 'status');
    expect(status.data).toMatchObject({ backend: 'git', resource: null, leases: [{ resource: 'path:dist/app', owner: 'ci@runner-1', backend: 'git' }] });
    expect(status.data.lock).toBeUndefined();

    const [renewed, view] = await runJson(clone('a'), 'lock', 'renew', '--resource', 'path:dist/app', '--owner', 'ci@runner-1', '--ttl', '20m');
    expect(renewed).toBe(0);
    expect(view.data).toMatchObject({ backend: 'git', ttlMs: 1_200_000, nonce: acquired.data.lease.nonce });
    expect((await runJson(clone('b'), 'lock', 'release', '--resource', 'path:dist/app', '--owner', 'ci@runner-2'))[0]).toBe(4);

    const [released, result] = await runJson(clone('a'), 'lock', 'release', '--resource', 'path:dist/app', '--owner', 'ci@runner-1');
    expect(released).toBe(0);
    expect(result.data).toMatchObject({ released: true, lease: { owner: 'ci@runner-1' } });
    expect((await runJson(clone('b', 'apps', 'web'), 'lock', 'acquire', '--resource', 'path:../../dist', '--owner', 'ci@runner-2'))[0]).toBe(0);
    expect((await runJson(clone('a'), 'lock', 'gc'))[1]).toMatchObject({ ok: true, data: { backend: 'git', removed: [] } });
  }, GIT_TEST_MS);

  it('uses --remote', async () => {
    git(clone('a'), 'remote', 'add', 'locks', path.join(dir, 'remote.git'));
    expect(await run(clone('a'), 'lock', 'acquire', '--resource', 'package:x', '--owner', 'o', '--remote', 'locks')).toBe(0);
    expect(out[0]).toMatch(/^acquired package:x for o /);
    const [code, json] = await runJson(clone('a'), 'lock', 'status', '--resource', 'package:x', '--remote', 'nowhere');
    expect(code).toBe(1);
    expect(json.error.code).toBe('EGIT');
  }, GIT_TEST_MS);

  // These stop before the backend is asked anything (but ask git where the working tree is).
  it('refuses a path outside the repository (exit 2)', async () => {
    const [code, json] = await runJson(clone('a'), 'lock', 'acquire', '--resource', 'path:../b/dist');
    expect(code).toBe(2);
    expect(json.error).toMatchObject({ code: 'EBADRESOURCE', message: expect.stringContaining('outside the repository') });
  }, GIT_TEST_MS);

  it('says EGIT (exit 1) outside a git working tree', async () => {
    const outside = path.join(dir, 'plain');
    mkdirSync(outside);
    const [code, json] = await runJson(outside, 'lock', 'status');
    expect(code).toBe(1);
    expect(json.error).toMatchObject({ code: 'EGIT', message: expect.stringContaining('not inside a git working tree') });
  }, GIT_TEST_MS);
});
