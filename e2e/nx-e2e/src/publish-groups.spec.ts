/**
 * Concurrency groups of the publish executor with the real nx binary and a
 * real Verdaccio: cancelInProgress supersedes a release mid-way (local
 * backend), and lockBackend git serialises two clones of one workspace that
 * share nothing but a git remote (a bare repository on local disk).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expectSuccess } from './utils/temp-workspace';
import { filesUnder } from './utils/files';
import { createTempWorkspace } from './utils/temp-workspace';
import {
  PublishRegistry,
  PublishWorkspace,
  expectDependencyOrder,
  expectEveryVersionOnce,
  expectRealManifests,
  show,
  summaryCounts,
  waitFor,
  usePublishSuite,
} from './utils/publish-workspace';

jest.setTimeout(240_000);

let reg: PublishRegistry;
const workspace = usePublishSuite((started) => (reg = started));

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=lockstep-e2e', '-c', 'user.email=e2e@lockstep.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();

describe('cancelInProgress (local backend)', () => {
  it('a newer run supersedes a release mid-way: the old run finishes its upload in flight, says by whom, fails with ESUPERSEDED; the newer run resumes and completes', async () => {
    const pws = await workspace('supersede', {
      nxJson: { targetDefaults: { publish: { dependsOn: ['^publish'], options: { concurrency: { cancelInProgress: true } } } } },
    });
    // The old run's uploads are held at the proxy until the newer run has asked it to stop, so the
    // newer run always arrives while an upload is in flight, however slow nx starts on a loaded machine.
    let openGate = () => {};
    reg.proxy.setOptions({ uploadGate: new Promise<void>((resolve) => (openGate = resolve)) });
    const old = pws.spawnPublish();
    let stopped;
    let newer;
    try {
      await waitFor(() => pws.uploads().length >= 1 || old.child.exitCode !== null, 120_000, 'the old run\'s first upload (held at the proxy)');
      expect(old.child.exitCode).toBeNull();
      const newerRun = pws.publish([], { env: { LOCKSTEP_KILL_GRACE_MS: '60000' } });
      await waitFor(() => supersedeRequests(pws.lockDir).length > 0, 120_000, 'the newer run\'s supersede request in the lock dir');
      reg.proxy.setOptions({ uploadGate: undefined });
      openGate();
      stopped = await old.done;
      newer = await newerRun;
    } finally {
      reg.proxy.setOptions({ uploadGate: undefined });
      openGate();
    }
    show('the superseded run', stopped);
    show('the newer run', newer);
    expect(stopped.code).not.toBe(0);
    expect(stopped.output).toMatch(/SIGTERM: this run was superseded by pid \d+@\S+ \('nx publish \(6 projects\)'\) at \d{4}-/);
    expect(stopped.output).toMatch(/\[ESUPERSEDED\] This run was superseded by pid \d+@.*; it stopped between packages/);
    expectSuccess(newer, 'the superseding run');
    expect(newer.output).toMatch(/cancelInProgress: superseding the run holding publish, pid \d+@/);
    expect(newer.output).toMatch(/Resuming the unfinished run /);
    // Nothing torn, nothing twice: the old run's uploads all ended before the newer run's first began.
    const uploads = pws.uploads();
    for (const u of uploads) expect({ name: u.name, status: u.status }).toEqual({ name: u.name, status: 201 });
    expectEveryVersionOnce(pws, uploads);
    expectDependencyOrder(pws, uploads);
    await expectRealManifests(pws);
    const journal = pws.readJournal();
    expect(journal.run?.status).toBe('done');
    // the old run stopped between packages: it did not publish everything
    expect(Object.values(journal.records).some((r) => r.status === 'published')).toBe(true);
    expect(summaryCounts(newer.output).at(-1)!.failed).toBe(0);
  });
});

/** Supersede requests (files in a `superseded` directory) anywhere under the lock dir. */
function supersedeRequests(lockDir: string): string[] {
  return filesUnder(lockDir).filter((file) => path.basename(path.dirname(file)) === 'superseded' && !path.basename(file).startsWith('.tmp-'));
}

/** A second clone of `pws`'s repository, set up as another CI machine: own lock dir, own Nx cache, same packages. */
async function cloneWorkspace(pws: PublishWorkspace, bare: string): Promise<PublishWorkspace> {
  const ws = await createTempWorkspace('publish-clone', {});
  git(ws.root, 'remote', 'add', 'origin', bare);
  git(ws.root, 'fetch', '-q', 'origin');
  const branch = git(pws.root, 'rev-parse', '--abbrev-ref', 'HEAD');
  git(ws.root, 'checkout', '-q', '-f', '-B', branch, `origin/${branch}`);
  const clone = new PublishWorkspace(ws, pws.scope, pws.specs, pws.registry, '1.0.0');
  clone.writeNpmrc();
  return clone;
}

describe('lockBackend git: two clones of one workspace, one remote', () => {
  it.each([[[] as string[]], [['--batch']]])('nx run-many -t publish %j in both clones at once: uploads never interleave, one publishes, the other waits and skips', async (args) => {
    const pws = await workspace(args.length ? 'gitbatch' : 'git', {
      nxJson: { targetDefaults: { publish: { dependsOn: ['^publish'], options: { lockBackend: { type: 'git', ttl: '1m' } } } } },
    });
    const bare = path.join(path.dirname(pws.root), `${path.basename(pws.root)}-remote.git`);
    execFileSync('git', ['init', '-q', '--bare', bare]);
    git(pws.root, 'remote', 'add', 'origin', bare);
    git(pws.root, 'push', '-q', 'origin', 'HEAD');
    const clone = await cloneWorkspace(pws, bare);
    expect(clone.lockDir).not.toBe(pws.lockDir);
    reg.proxy.setOptions({ latencyMs: 100 });
    let a, b;
    try {
      [a, b] = await Promise.all([pws.publish(args), clone.publish(args)]);
    } finally {
      reg.proxy.setOptions({ latencyMs: 0 });
      fs.rmSync(bare, { recursive: true, force: true });
    }
    show('clone A', a);
    show('clone B', b);
    expectSuccess(a, 'clone A');
    expectSuccess(b, 'clone B');
    const uploads = pws.uploads();
    expectEveryVersionOnce(pws, uploads);
    expectDependencyOrder(pws, uploads);
    const published = (output: string) => (output.match(/ published in \d+ ms/g) ?? []).length;
    const [publisher, waiter, waiterWs] = published(a.output) > 0 ? [a, b, clone] : [b, a, pws];
    expect(published(publisher.output)).toBe(5);
    expect(published(waiter.output)).toBe(0);
    expect(waiter.output).toMatch(/Waiting for publish \(held by run:\S+ on \S+ since .*; lease on git remote 'origin'\)/);
    expect(summaryCounts(waiter.output).at(-1)).toEqual({ published: 0, skipped: 6, failed: 0, blocked: 0 });
    // The waiter's run began after the publisher's last upload ended.
    const journal = waiterWs.readJournal();
    const lastUploadEnd = Math.max(...uploads.map((u) => u.end ?? Infinity));
    expect(Date.parse(journal.run!.startedAt) - lastUploadEnd).toBeGreaterThanOrEqual(-5);
  });
});
