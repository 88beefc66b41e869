import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertFreshDist } from '../../../core/src/test-utils/fresh-dist';

// `lockstep group run|status` as real processes: the built binary (npm test builds first),
// a private lock dir, real commands inside the group.
const BIN = path.join(__dirname, '..', '..', 'dist', 'bin.js');

// dist/bin.js (and the core dist it loads) must be built from the current sources.
beforeAll(() => assertFreshDist(['packages/core', 'packages/cli']));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

describe('lockstep group (real processes)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const runs: Run[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-group-'));
    mkdirSync(path.join(dir, 'locks'), { mode: 0o700 });
    env = { ...process.env, LOCKSTEP_LOCK_DIR: path.join(dir, 'locks') };
  });
  afterEach(() => {
    for (const r of runs.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const lockstep = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Run => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (err += c));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const run = { child, stdout: () => out, stderr: () => err, done };
    runs.push(run);
    return run;
  };
  /** A node one-liner as the command: `node -e <code> <args…>`. */
  const nodeCmd = (code: string, ...args: string[]) => ['--', process.execPath, '-e', code, ...args];
  const status = async (group: string) => {
    const r = lockstep(['group', 'status', '--group', group, '--json']);
    await r.done;
    return JSON.parse(r.stdout()).data;
  };
  const untilHolders = async (group: string, n: number, timeoutMs = 15_000) => {
    const end = Date.now() + timeoutMs;
    while ((await status(group)).holders.length !== n) {
      if (Date.now() > end) throw new Error(`${group} never had ${n} holders`);
    }
  };
  // Records its start and end times into <dir>/<name>.json and holds for ms.
  const SPAN = `const fs=require('fs');const [f,ms]=process.argv.slice(1);const s=Date.now();setTimeout(()=>{fs.writeFileSync(f,JSON.stringify({s,e:Date.now()}))},Number(ms));`;
  const span = (name: string) => JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8'));

  it("exits with the command's code, passes its output through, and 128 + n when a signal ended it", async () => {
    const ok = lockstep(['group', 'run', '--group', 'g', ...nodeCmd("console.log('from the command'); process.exit(7)")]);
    expect((await ok.done).code).toBe(7);
    expect(ok.stdout()).toBe('from the command\n');
    const killed = lockstep(['group', 'run', '--group', 'g', ...nodeCmd("process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000)")]);
    expect((await killed.done).code).toBe(143);
  });

  it('a second run waits for the first, says what it waits for, and starts after it ended', async () => {
    const first = lockstep(['group', 'run', '--group', 'deploy', ...nodeCmd(SPAN, path.join(dir, 'a.json'), '800')]);
    // the second starts once the first holds the group
    await untilHolders('deploy', 1);
    const second = lockstep(['group', 'run', '--group', 'deploy', ...nodeCmd(SPAN, path.join(dir, 'b.json'), '10')]);
    expect((await first.done).code).toBe(0);
    expect((await second.done).code).toBe(0);
    expect(span('b').s).toBeGreaterThanOrEqual(span('a').e);
    expect(second.stderr()).toMatch(new RegExp(`^\\[lockstep\\] Waiting for deploy \\(0 ahead, held by ${first.child.pid}@\\S+ since \\d{4}-`, 'm'));
  });

  it('--max 2: two run at once, the third waits for a slot (3 runs, time spans)', async () => {
    const args = (name: string) => ['group', 'run', '--group', 'pool', '--max', '2', ...nodeCmd(SPAN, path.join(dir, `${name}.json`), '700')];
    const a = lockstep(args('a'));
    const b = lockstep(args('b'));
    await untilHolders('pool', 2);
    const c = lockstep(args('c'));
    for (const r of [a, b, c]) expect((await r.done).code).toBe(0);
    const [sa, sb, sc] = [span('a'), span('b'), span('c')];
    // a and b overlapped; c began only after one of them ended
    expect(Math.max(sa.s, sb.s)).toBeLessThan(Math.min(sa.e, sb.e));
    expect(sc.s).toBeGreaterThanOrEqual(Math.min(sa.e, sb.e));
  });

  it('--cancel-in-progress: the running command gets SIGTERM, lockstep says by whom, and the newer run goes ahead within the grace window', async () => {
    const stubbornUntilTerm = `process.on('SIGTERM',()=>{require('fs').writeFileSync(process.argv[1],'term');process.exit(5)});setInterval(()=>{},1000)`;
    const old = lockstep(['group', 'run', '--group', 'rel', ...nodeCmd(stubbornUntilTerm, path.join(dir, 'term'))]);
    await untilHolders('rel', 1);
    const started = Date.now();
    const newer = lockstep(['group', 'run', '--group', 'rel', '--cancel-in-progress', ...nodeCmd("console.log('newer ran')")], { LOCKSTEP_KILL_GRACE_MS: '10000' });
    const oldExit = await old.done;
    expect(oldExit.code).toBe(5);
    expect(oldExit.at - started).toBeLessThan(10_000);
    expect(readFileSync(path.join(dir, 'term'), 'utf8')).toBe('term');
    expect(old.stderr()).toMatch(new RegExp(`This run of rel was superseded by pid ${newer.child.pid}@\\S+ \\('lockstep group run -- .*'\\) at \\d{4}-`));
    expect((await newer.done).code).toBe(0);
    expect(newer.stdout()).toBe('newer ran\n');
    expect(newer.stderr()).toMatch(/cancelInProgress: superseding the run holding rel, pid \d+@/);
  });

  it('a command that cannot be started: ECOMMAND with a hint, exit 127 as a shell would, and the group is free', async () => {
    const r = lockstep(['group', 'run', '--group', 'nf', '--', 'no-such-program-lockstep']);
    expect((await r.done).code).toBe(127);
    expect(r.stderr()).toMatch(/\[ECOMMAND\] Could not start 'no-such-program-lockstep'.*\n  Hint: .*sh -c/);
    expect((await status('nf')).holders).toEqual([]);
  });

  it('forwards SIGTERM to the command and exits 143; the group is free afterwards', async () => {
    const run = lockstep(['group', 'run', '--group', 'sig', ...nodeCmd('setInterval(()=>{},1000)')]);
    await untilHolders('sig', 1);
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(143);
    expect((await status('sig')).holders).toEqual([]);
  });

  it('group status --json: the holder and the queue in order, without tokens; --wait-timeout ends a wait with exit 4', async () => {
    const holder = lockstep(['group', 'run', '--group', 'st', ...nodeCmd('setTimeout(()=>{},3000)')]);
    await untilHolders('st', 1);
    const waiter = lockstep(['group', 'run', '--group', 'st', '--wait-timeout', '1s', ...nodeCmd('0')]);
    let data: any;
    for (let i = 0; i < 200; i++) {
      data = await status('st');
      if (data.queue.length === 1) break;
    }
    expect(data).toMatchObject({
      group: 'st',
      key: 'group:st',
      holders: [{ slot: 0, state: 'alive', holder: { pid: holder.child.pid, command: expect.stringContaining('lockstep group run -- ') } }],
      queue: [{ pid: waiter.child.pid }],
    });
    expect(JSON.stringify(data)).not.toMatch(/token/);
    // only the program's name: arguments can carry secrets
    expect(data.holders[0].holder.command).toBe('lockstep group run -- node (+2 arguments)');
    const waited = await waiter.done;
    expect(waited.code).toBe(4);
    expect(waiter.stderr()).toMatch(/\[ELOCKTIMEOUT\] Timed out after 1 s waiting for the concurrency group st\. It is held by pid \d+/);
    expect(waiter.stderr()).toMatch(/Hint: Wait longer .*--wait-timeout.*lockstep group status --group st/);
    holder.child.kill('SIGTERM');
    await holder.done;
  });

  it.each([
    [['group', 'run', '--', 'true'], /needs --group/],
    [['group', 'run', '--group', 'g'], /needs the command to run after --/],
    [['group', 'run', '--group', 'g', '--max', '0', '--', 'true'], /--max must be a whole number/],
    [['group', 'run', '--group', 'g', '--wait-timeout', '30', '--', 'true'], /\[EBADDURATION\] The --wait-timeout '30' has no unit/],
    [['group', 'run', '--group', 'g', '--policy', 'maybe', '--', 'true'], /--policy must be require, warn or off/],
    [['group', 'status'], /needs --group/],
  ])('usage error %j: exit 2 with a hint', async (args, message) => {
    const r = lockstep(args);
    expect((await r.done).code).toBe(2);
    expect(r.stderr()).toMatch(message);
    expect(r.stderr()).toMatch(/Hint: /);
  });
});
