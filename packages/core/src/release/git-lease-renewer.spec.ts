import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseResource } from '../lease/resource';
import { assertFreshDist } from '../test-utils/fresh-dist';
import { gitBackendFor, runOwner } from './git-release-lock';

// The detached renewer as a real process (packages/core/dist, built by `npm test`)
// against a real bare remote; a sleeping child process stands for the run's nx.
const RENEWER = path.join(__dirname, '..', '..', 'dist', 'release', 'git-lease-renewer.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeRemoteAndClones, remoteLeases } = require('../lease/__fixtures__/git-repos');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exited = (child: ChildProcess, timeoutMs: number) =>
  new Promise<boolean>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

jest.setTimeout(30_000);

describe('the detached git lease renewer of per-task runs', () => {
  beforeAll(() => assertFreshDist());
  let dir: string;
  let clone: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-renewer-'));
    ({ clones: [clone] } = makeRemoteAndClones(dir, 1));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }); // a child just killed may still be writing
  });

  async function start(ttlMs: number) {
    const run = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    children.push(run);
    await sleep(100);
    const resource = parseResource('group:publish');
    const owner = runOwner(run.pid!);
    const backend = gitBackendFor({ cwd: clone, remote: 'origin', ttlMs });
    await backend.acquire(resource, { owner, ttlMs });
    const renewer = spawn(process.execPath, [RENEWER, JSON.stringify({ cwd: clone, remote: 'origin', resource, owner, ttlMs, runPid: run.pid })], { stdio: 'inherit' });
    children.push(renewer);
    const oid = () => [...(remoteLeases(path.join(dir, 'remote.git')) as Map<string, string>).values()][0];
    return { run, renewer, backend, resource, owner, oid };
  }

  it('renews while the run lives (ttl 10 s: a new version every ~3.3 s), and ends once the lease is released', async () => {
    const { renewer, backend, resource, owner, oid } = await start(10_000);
    const first = oid();
    await sleep(4500);
    const second = oid();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(renewer.exitCode).toBeNull();
    await backend.release(resource, { owner });
    expect(await exited(renewer, 6000)).toBe(true);
    expect(renewer.exitCode).toBe(0);
  });

  it('ends within about a second of the run\'s process, without releasing (the next run takes the lease over as abandoned)', async () => {
    const { run, renewer, oid } = await start(10_000);
    run.kill('SIGKILL');
    expect(await exited(renewer, 3000)).toBe(true);
    expect(oid()).toBeDefined();
  });
});
