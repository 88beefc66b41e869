/**
 * Staged releases with the real nx binary and a real Verdaccio: the fault
 * proxy in front of it answers npm's staging endpoints
 * (tools/registry/staging.js: an approved stage is a real publish on
 * Verdaccio). `nx run-many -t publish --stage` stages; the real
 * `lockstep release approve | reject` (the workspace's installed CLI, a
 * child process) approves or withdraws from the run's journal.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expectSuccess } from './utils/temp-workspace';
import { PublishRegistry, PublishWorkspace, show, twelvePackages, usePublishSuite, waitFor } from './utils/publish-workspace';

import { createStagingFront, type StagingFront } from '../../../tools/registry/staging';

const TEST_TIMEOUT_MS = 420_000;
const CODE = '864209';
/** SIGKILLs of `lockstep release approve`, each at a random number of approvals already made. */
const KILL_ROUNDS = 3;

let reg: PublishRegistry;
const workspace = usePublishSuite((r) => {
  reg = r;
});
let front: StagingFront;
beforeAll(() => {
  front = createStagingFront({ target: reg.registry.url, registryToken: reg.registry.token, otp: CODE });
  reg.proxy.setOptions({ front });
});
afterAll(() => reg?.proxy.setOptions({ front: undefined }));

interface CliRun {
  child: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The workspace's own `lockstep` (installed with the plugin), as a child process. */
function lockstep(pws: PublishWorkspace, args: string[]): CliRun {
  const bin = require.resolve('@lockstep/cli/dist/bin.js', { paths: [pws.root] });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...pws.env() })) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [bin, ...args, '--cache-dir', pws.cacheDir], { cwd: pws.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

const approvalsOf = (pws: PublishWorkspace) => front.approvals.filter((a) => a.name.startsWith(`@${pws.scope}/`)).map((a) => a.name);

describe('staged releases (stage: true, lockstep release approve | reject)', () => {
  it(
    `12 packages in 4 levels staged (nothing live, stage ids listed); approve SIGKILLed at ${KILL_ROUNDS} random points then re-run: dependency order kept, every version live once with the staged integrity`,
    async () => {
      const pws = await workspace('staged', { specs: twelvePackages() });
      const summaryFile = path.join(pws.root, 'dist', 'summary.json');
      const staged = await pws.publish(['--batch', '--stage', `--summaryFile=${summaryFile}`]);
      show('staged run, 12 packages', staged);
      expectSuccess(staged, 'nx run-many -t publish --stage');
      expect(staged.output).toContain('0 published, 12 staged, 0 skipped, 0 failed, 0 blocked');
      expect(staged.output).toContain('nothing is public until');
      const { records } = pws.readJournal();
      const names = pws.shorts.map((s) => pws.name(s));
      for (const name of names) {
        expect(records[name]).toMatchObject({ status: 'staged', stageId: expect.any(String), integrity: expect.any(String) });
        expect(staged.output).toContain(`stage ${records[name].stageId}`);
        expect(await reg.packument(name)).toBeUndefined();
      }
      const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
      expect(summary.packages.map((p: { stageId?: string }) => p.stageId).sort()).toEqual(names.map((n) => records[n].stageId).sort());
      expect(approvalsOf(pws)).toEqual([]);

      // Kill approval at random points (after k approvals reached Verdaccio, k growing), then let it finish.
      let killedAt = 0;
      for (let round = 0; round < KILL_ROUNDS; round++) {
        const k = Math.min(11, killedAt + 1 + Math.floor(Math.random() * 3));
        const run = lockstep(pws, ['release', 'approve', '--otp', CODE]);
        await Promise.race([
          waitFor(() => approvalsOf(pws).length >= k, 120_000, `${k} approvals of ${pws.scope} (round ${round})`),
          run.done.then((r) => {
            throw new Error(`approve ended before ${k} approvals: ${r.code} ${r.stderr}`);
          }),
        ]);
        run.child.kill('SIGKILL');
        const killed = await run.done;
        expect(killed.signal).toBe('SIGKILL');
        killedAt = approvalsOf(pws).length;
      }
      const last = lockstep(pws, ['release', 'approve', '--otp', CODE, '--json']);
      const final = await last.done;
      show('approve after the kills', { output: final.stdout + final.stderr, code: final.code });
      expect(final.code).toBe(0);
      expect(final.stdout + final.stderr).not.toContain(CODE);
      const outcomes = JSON.parse(final.stdout).data.packages.map((p: { outcome: string }) => p.outcome);
      expect(outcomes.filter((o: string) => o !== 'approved' && o !== 'already-live')).toEqual([]);

      const order = approvalsOf(pws);
      expect([...order].sort()).toEqual([...names].sort()); // each once
      for (const short of pws.shorts) {
        for (const dep of pws.runtimeDeps(short)) expect(order.indexOf(pws.name(dep))).toBeLessThan(order.indexOf(pws.name(short)));
        const doc = await reg.packument(pws.name(short));
        expect(doc?.versions[pws.version(short)]?.dist.integrity).toBe(records[pws.name(short)].integrity);
      }
      const after = pws.readJournal().records;
      for (const name of names) expect(after[name].status).toBe('published');

      // Once more: nothing is approved twice.
      const again = await lockstep(pws, ['release', 'approve', '--otp', CODE]).done;
      expect(again.code).toBe(0);
      expect(approvalsOf(pws)).toHaveLength(12);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reject withdraws a staged run: nothing live, approve afterwards is ENOTSTAGED',
    async () => {
      const pws = await workspace('staged-rej', { specs: twelvePackages().slice(0, 6) });
      const staged = await pws.publish(['--batch', '--stage']);
      expectSuccess(staged, 'nx run-many -t publish --stage');
      const rejected = await lockstep(pws, ['release', 'reject', '--otp', CODE, '--json']).done;
      expect(rejected.code).toBe(0);
      expect(JSON.parse(rejected.stdout).data.packages.map((p: { outcome: string }) => p.outcome)).toEqual(Array(6).fill('rejected'));
      for (const short of pws.shorts) expect(await reg.packument(pws.name(short))).toBeUndefined();
      const approve = await lockstep(pws, ['release', 'approve', '--otp', CODE]).done;
      expect(approve.code).toBe(1);
      expect(approve.stderr).toContain('[ENOTSTAGED]');
      expect(approvalsOf(pws)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
