/**
 * G6 end to end (real nx, Verdaccio behind the fault proxy): a release that
 * would fail on its input fails before anything is public, naming every
 * problem at once, in per-task mode (one process per task: the run is
 * validated once, by the task that sets up the journal, and the other tasks
 * find its verdict) and in batch mode. Also the one-time password: accepted
 * by Nx as a flag (string or number, leading zeros kept) or from
 * NPM_CONFIG_OTP, sent to the registry, and kept out of lockstep's files.
 *
 * What the registry got is read from the proxy's request log and from
 * Verdaccio directly (every package: 404), never from exit codes alone.
 */
import * as fs from 'fs';
import * as path from 'path';
import { listFiles } from '../../../tools/scripts/workspace';
import { expectFailure, expectSuccess } from './utils/temp-workspace';
import { PublishRegistry, PublishWorkspace, RunResult, expectEveryVersionOnce, lockstepLines, recordUploadHeader, show, usePublishSuite } from './utils/publish-workspace';

// Each test runs nx several times (a few seconds to tens of seconds each on a loaded 2-core machine).
jest.setTimeout(480_000);

/** The executor sets preferBatch: without --batch=false, `nx run-many -t publish` is one batch too. */
const PER_TASK = ['--batch=false'];

let reg: PublishRegistry;
const workspace = usePublishSuite((started) => (reg = started));

/** Every request of this workspace the registry was sent that changes something (publish PUTs, tags, deletes). */
const writes = (pws: PublishWorkspace) => pws.requests().filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

/** Nothing of the workspace is on the registry: every package (and the one that does not exist) answers 404. */
async function expectNothingPublished(pws: PublishWorkspace, extra: string[] = []): Promise<void> {
  for (const name of [...pws.shorts.map((s) => pws.name(s)), ...extra]) expect({ name, packument: await reg.packument(name) }).toEqual({ name, packument: undefined });
}

describe('G6: bad input fails the whole run before the first upload', () => {
  it('a leaf\'s workspace: dependency on no package AND a bad version elsewhere: per task and --batch fail naming both, and the registry has nothing of the run', async () => {
    const pws = await workspace('badinput', {
      specs: [
        { short: 'utils' },
        { short: 'config' },
        { short: 'core', dependencies: { utils: 'workspace:^', config: 'workspace:~' } },
        // A leaf (level 2) whose dependency names no package of the workspace: today found only when it is packed, after its dependencies went up.
        { short: 'cli', dependencies: { core: 'workspace:*', ghost: 'workspace:*' } },
      ],
    });
    // A version the registry would refuse, on a level-0 package (its neighbour utils would go up first today).
    pws.setVersion('1.0', ['config']);
    pws.commit('config gets a bad version');
    const ghost = pws.name('ghost');

    const check = (result: RunResult, label: string) => {
      show(label, result);
      expectFailure(result, label);
      expect(result.output).toMatch(/\[EPREFLIGHT\] Nothing was published/);
      // Both problems, each with its own code, in the same error.
      expect(result.output).toMatch(new RegExp(`\\[EWORKSPACEDEP\\] ${pws.name('cli')}: dependencies\\["${ghost}"\\] is "workspace:\\*", but no workspace package is named "${ghost}"`));
      expect(result.output).toMatch(new RegExp(`\\[EPACK\\] .*version "1\\.0" of ${pws.name('config')} is not an exact semver version`));
      expect(result.output).toMatch(/Hint: Nothing was published/);
    };

    const perTask = await pws.publish(PER_TASK);
    check(perTask, 'per task, bad input');
    // Both level-0 tasks ran and failed the same way (one checked the run, the other found its verdict); Nx ran no dependent.
    expect((perTask.output.match(/\[lockstep\] \[EPREFLIGHT\]/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(perTask.output).toMatch(/Failed tasks:\s+- (utils|config):publish\s+- (utils|config):publish/);
    expect(writes(pws)).toEqual([]);
    expect(pws.uploads()).toEqual([]);
    await expectNothingPublished(pws, [ghost]);
    // No run was recorded: nothing to resume, nothing "published".
    expect(pws.readJournal()).toEqual({ run: undefined, records: {} });

    const batch = await pws.publish(['--batch']);
    check(batch, 'batch, bad input');
    expect(writes(pws)).toEqual([]);
    await expectNothingPublished(pws, [ghost]);

    // Fixed, the same workspace publishes everything once.
    pws.specs.find((s) => s.short === 'cli')!.dependencies = { core: 'workspace:*' };
    pws.setVersion('1.0.0', ['config']);
    pws.commit('fix the input');
    const fixed = await pws.publish(PER_TASK);
    show('per task, fixed', fixed);
    expectSuccess(fixed, 'the fixed release');
    expect(fixed.output).toMatch(/Checked the run before the first upload: 4 packages .* registry and credentials\) in \d+ ms\./);
    expectEveryVersionOnce(pws, pws.uploads());
  });

  it('a wrong token: EAUTH before any upload, per task and --batch; no PUT reaches the registry and the token is in no output or file', async () => {
    const pws = await workspace('preauth');
    const wrongToken = `lockstep-e2e-wrong-token-${Math.random().toString(36).slice(2)}`;
    pws.writeNpmrc(wrongToken);
    const whoamiBefore = reg.proxy.stats.log.filter((r) => r.path === '/-/whoami').length;

    for (const args of [PER_TASK, ['--batch']]) {
      const result = await pws.publish(args);
      show(`wrong token ${args.join(' ')}`, result);
      expectFailure(result, `nx run-many -t publish ${args.join(' ')} with a wrong token`);
      expect(result.output).toMatch(/\[EPREFLIGHT\]/);
      expect(result.output).toMatch(/\[EAUTH\] .*knows no user for the configured credentials/);
      expect(result.output).toMatch(/Hint: Check the token for this registry: `\/\/127\.0\.0\.1:\d+\/:_authToken` in /);
      expect(result.output.includes(wrongToken)).toBe(false);
      expect(result.output.includes(reg.registry.token)).toBe(false);
    }
    // The credentials were asked about (once per run); nothing was ever sent to be written.
    expect(reg.proxy.stats.log.filter((r) => r.path === '/-/whoami').length - whoamiBefore).toBeGreaterThanOrEqual(2);
    expect(writes(pws)).toEqual([]);
    expect(pws.uploads()).toEqual([]);
    await expectNothingPublished(pws);

    const files: Record<string, string> = {};
    for (const file of listFiles(pws.journalDir())) files[`journal: ${file}`] = fs.readFileSync(path.join(pws.journalDir(), file), 'utf8');
    for (const file of listFiles(pws.lockDir)) files[`lock dir: ${file}`] = fs.readFileSync(path.join(pws.lockDir, file), 'utf8');
    for (const [file, text] of Object.entries(files)) expect({ file, leaks: text.includes(wrongToken) || text.includes(reg.registry.token) }).toEqual({ file, leaks: false });
  });
});

describe('the one-time password', () => {
  it('--otp=012345 and --otp=654321 (--batch and per task) and NPM_CONFIG_OTP are accepted, reach the registry exactly (leading zero kept), and are in none of lockstep\'s lines or files', async () => {
    const pws = await workspace('otp');
    const summaryFile = 'dist/summary.json';
    const otps = recordUploadHeader(reg, 'npm-otp');
    const runs: Array<{ otp: string; args: string[]; env?: Record<string, string>; version: string }> = [
      // Nx's own coercion turns 012345 into the number 12345: lockstep pads it back to 6 digits.
      { otp: '012345', args: ['--otp=012345', '--batch'], version: '1.0.0' },
      // 654321 reaches Nx's schema check as a number: "should be a 'string'" before, and with --batch an unhandled rejection.
      { otp: '654321', args: ['--otp=654321', '--batch'], version: '1.0.1' },
      // The same per task: every task process gets the code.
      { otp: '012345', args: ['--otp=012345', ...PER_TASK], version: '1.0.2' },
      // What the README recommends: Nx neither prints nor records it.
      { otp: '000777', args: [...PER_TASK], env: { NPM_CONFIG_OTP: '000777' }, version: '1.0.3' },
    ];
    try {
      for (const run of runs) {
        if (run.version !== '1.0.0') {
          pws.setVersion(run.version);
          pws.commit(`release ${run.version}`);
        }
        const before = otps.seen.length;
        const result = await pws.publish([...run.args, `--summaryFile=${summaryFile}`], { env: run.env });
        show(`otp ${run.args.join(' ')}`, result);
        expectSuccess(result, `nx run-many -t publish ${run.args.join(' ')}`);
        expect(result.output).not.toMatch(/should be a|does not match the schema|unhandled/i);

        // Every upload of this release carried the code, exactly.
        const sent = otps.seen.slice(before).filter((s) => s.name?.startsWith(`@${pws.scope}/`));
        expect(sent.map((s) => `${s.name}@${s.version}`).sort()).toEqual(pws.publicShorts.map((s) => `${pws.name(s)}@${run.version}`).sort());
        for (const s of sent) expect({ upload: `${s.name}@${s.version}`, otp: s.value }).toEqual({ upload: `${s.name}@${s.version}`, otp: run.otp });

        // Not in lockstep's output, summary, journal or lock files (Nx may echo its own flags: that is Nx's record, see the README).
        const mine: Record<string, string> = { 'lockstep output': lockstepLines(result.output).join('\n'), summary: fs.readFileSync(pws.ws.path(summaryFile), 'utf8') };
        for (const file of listFiles(pws.journalDir())) mine[`journal: ${file}`] = fs.readFileSync(path.join(pws.journalDir(), file), 'utf8');
        for (const file of listFiles(pws.lockDir)) mine[`lock dir: ${file}`] = fs.readFileSync(path.join(pws.lockDir, file), 'utf8');
        for (const [where, text] of Object.entries(mine)) expect({ where, leaks: text.includes(run.otp) }).toEqual({ where, leaks: false });
      }
    } finally {
      otps.stop();
    }
  });
});
