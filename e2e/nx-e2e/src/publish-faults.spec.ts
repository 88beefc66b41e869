/**
 * The publish executor against a misbehaving registry and against a second
 * release run: the real nx binary, a real Verdaccio behind the fault proxy
 * (tools/registry/fault-proxy.js), workspaces of 6 packages in 3 levels
 * (utils/publish-workspace.ts).
 */
import * as fs from 'fs';
import { UploadRecord } from '../../../tools/registry/fault-proxy';
import { expectSuccess } from './utils/temp-workspace';
import {
  PublishRegistry,
  expectDependencyOrder,
  expectEveryVersionOnce,
  expectRealManifests,
  landed,
  show,
  sleep,
  summaryCounts,
  waitFor,
  usePublishSuite,
} from './utils/publish-workspace';

jest.setTimeout(240_000);

let reg: PublishRegistry;
const workspace = usePublishSuite((started) => (reg = started));

describe('registry faults', () => {
  afterEach(() => reg.proxy.setOptions({ faultRate: 0, rules: undefined, seed: undefined }));

  it('429 (Retry-After 1 s), 503 and resets on 10% of requests: the release completes, every version uploaded exactly once', async () => {
    const pws = await workspace('faults');
    const mine = `@${pws.scope}/`;
    // Besides the random 10%, each kind of fault is met at least once, whatever the draw:
    // the first upload gets a 429, the first read of core a 503, the first read of ui a reset.
    const forced = new Map<string, string>([
      ['upload', '429'],
      [`GET ${pws.name('core')}`, '503'],
      [`GET ${pws.name('ui')}`, 'reset'],
    ]);
    reg.proxy.setOptions({
      faultRate: 0.1,
      faults: ['429', '503', 'reset'],
      retryAfterSeconds: 1,
      // Only this workspace's requests are faulted (the registry is shared by the file).
      rules: (req) => {
        const url = decodeURIComponent(req.url);
        if (!url.includes(mine)) return false;
        const key = req.isUpload ? 'upload' : `${req.method} ${url.slice(1)}`;
        const fault = forced.get(key);
        if (fault) forced.delete(key);
        return fault;
      },
    });
    const result = await pws.publish();
    show('10% faults', result);
    reg.proxy.setOptions({ faultRate: 0, rules: undefined });
    expectSuccess(result, 'nx run-many -t publish under 10% faults');
    // The run really met every kind of fault, and retried.
    expect([...forced.keys()]).toEqual([]);
    const kinds = new Set(pws.requests().map((r) => r.fault).filter(Boolean));
    expect([...kinds].sort()).toEqual(['429', '503', 'reset']);
    expect(result.output).toMatch(/failed \(.*\); retry 1 of 3 in \d+\.\d s \(Retry-After 1\.0 s\)/);
    expectEveryVersionOnce(pws, pws.uploads());
    expectDependencyOrder(pws, pws.uploads());
    await expectRealManifests(pws);
    expect(summaryCounts(result.output).at(-1)).toEqual({ published: 5, skipped: 1, failed: 0, blocked: 0 });
    if (process.env.LOCKSTEP_E2E_DEBUG === '1') console.log(`faults met: ${JSON.stringify(pws.requests().filter((r) => r.fault).map((r) => `${r.method} ${r.path} ${r.fault}`))}`);
  });

  it('an upload that landed but whose answer was lost (reset, 503 after forwarding) is never uploaded again', async () => {
    const pws = await workspace('lost');
    const lose: Record<string, string> = { [pws.name('core')]: 'reset-after', [pws.name('ui')]: '503-after', [pws.name('utils')]: '502-after' };
    const seen = new Set<string>();
    reg.proxy.setOptions({
      rules: (req) => {
        if (!req.isUpload || !req.name || !(req.name in lose) || seen.has(req.name)) return false;
        seen.add(req.name);
        return lose[req.name];
      },
    });
    const result = await pws.publish(['--batch']);
    show('lost answers', result);
    reg.proxy.setOptions({ rules: undefined });
    expectSuccess(result, 'nx run-many -t publish --batch with lost upload answers');
    const uploads = pws.uploads();
    expect(uploads.filter((u) => u.fault).map((u) => `${u.name}:${u.fault}`).sort()).toEqual(Object.entries(lose).map(([n, f]) => `${n}:${f}`).sort());
    // Each of them went up once: the client asked the registry before any second PUT.
    const describe = (u: UploadRecord) => `${u.name}@${u.version} ${u.status}${u.fault ? ` (${u.fault})` : ''}`;
    for (const name of Object.keys(lose)) expect({ name, puts: uploads.filter((u) => u.name === name).map(describe) }).toEqual({ name, puts: [describe(uploads.find((u) => u.name === name)!)] });
    expectEveryVersionOnce(pws, uploads);
    expectDependencyOrder(pws, uploads);
    await expectRealManifests(pws);
    expect(uploads.filter(landed)).toHaveLength(5);
  });
});

describe('two release runs of the same workspace at once (G3)', () => {
  it('both nx run-many -t publish succeed; one uploads everything once, the other waits for it and then finds everything published', async () => {
    const pws = await workspace('twice');
    const [a, b] = await Promise.all([pws.publish(), pws.publish()]);
    show('concurrent run A', a);
    show('concurrent run B', b);
    expectSuccess(a, 'the first of two concurrent nx run-many -t publish');
    expectSuccess(b, 'the second of two concurrent nx run-many -t publish');
    const uploads = pws.uploads();
    expectEveryVersionOnce(pws, uploads);
    expectDependencyOrder(pws, uploads);
    await expectRealManifests(pws);

    // One run published everything, the other published nothing and skipped everything.
    const published = (output: string) => (output.match(/ published in \d+ ms/g) ?? []).length;
    const [publisher, waiter] = published(a.output) > 0 ? [a, b] : [b, a];
    expect(published(publisher.output)).toBe(5);
    expect(published(waiter.output)).toBe(0);
    for (const short of pws.publicShorts) expect(waiter.output).toMatch(new RegExp(`${pws.name(short)}@1\\.0\\.0 skipped: already on `));
    expect(summaryCounts(waiter.output).at(-1)).toEqual({ published: 0, skipped: 6, failed: 0, blocked: 0 });
    // The waiter said it was waiting; the publisher never waited.
    expect(waiter.output).toMatch(/\[lockstep\] Waiting for publish \(\d+ ahead, held by \d+@/);
    expect(publisher.output).not.toMatch(/Waiting for publish/);
    // The waiter's run began only after the publisher's last upload had ended: the journal now holds the waiter's run.
    const journal = pws.readJournal();
    expect(journal.run?.status).toBe('done');
    for (const record of Object.values(journal.records)) expect(record.status).toBe('skipped');
    const lastUploadEnd = Math.max(...uploads.map((u) => u.end ?? Infinity));
    const gap = Date.parse(journal.run!.startedAt) - lastUploadEnd;
    if (process.env.LOCKSTEP_E2E_DEBUG === '1') console.log(`the waiter's run began ${gap.toFixed(1)} ms after the publisher's last upload ended`);
    // (a few ms of tolerance: the proxy's clock is performance.timeOrigin + now(), the journal's Date.now())
    expect(gap).toBeGreaterThanOrEqual(-5);
  });


  it('a queued run killed with SIGKILL does not hold up the runs behind it', async () => {
    const pws = await workspace('queue');
    reg.proxy.setOptions({ latencyMs: 150 });
    try {
      const first = pws.spawnPublish();
      await waitFor(() => pws.uploads().length >= 1 || first.child.exitCode !== null, 120_000, 'the first run\'s first upload');
      // Until the third run is queued, every new request of the first run takes 10 s: it is still mid-release
      // however long the next two nx start-ups take on a busy machine (a fixed latency made that a race).
      reg.proxy.setOptions({ latencyMs: 10_000 });
      // The second run queues behind the first (its tasks wait for the release lock), then dies.
      const second = pws.spawnPublish();
      // Its tickets appear in the release lock's queue (<lockDir>/<hash>/q/<seq>).
      const tickets = () => (fs.readdirSync(pws.lockDir, { recursive: true }) as string[]).filter((entry) => /(^|\/)q\/\d+$/.test(entry));
      const queued = () => tickets().length;
      await waitFor(() => queued() > 0 || second.child.exitCode !== null, 60_000, 'the second run to queue');
      await sleep(200);
      expect(first.child.exitCode).toBeNull();
      second.killGroup();
      await second.done;
      await waitFor(() => !pws.livingProcesses().some((p) => p.cmd.includes('run-many') && p.pid !== first.pid), 15_000, 'the second nx to be gone');
      const ticketsOfTheKilled = new Set(tickets());
      let thirdEnded = false;
      const thirdRun = pws.publish().finally(() => (thirdEnded = true));
      // Queued (a ticket the killed run did not leave): now the first run may finish.
      await waitFor(() => thirdEnded || tickets().some((t) => !ticketsOfTheKilled.has(t)), 120_000, 'the third run to queue behind the first');
      reg.proxy.setOptions({ latencyMs: 0 });
      const third = await thirdRun;
      show('the third run', third);
      const firstResult = await first.done;
      show('the first run', firstResult);
      expectSuccess(firstResult, 'the first run');
      expectSuccess(third, 'the run queued behind a killed one');
      expect(third.output).toMatch(/Waiting for publish \(\d+ ahead/);
      expect(summaryCounts(third.output).at(-1)).toEqual({ published: 0, skipped: 6, failed: 0, blocked: 0 });
      expectEveryVersionOnce(pws, pws.uploads());
    } finally {
      reg.proxy.setOptions({ latencyMs: 0 });
    }
  });
});
