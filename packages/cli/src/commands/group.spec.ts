import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertFreshDist } from '../../../core/src/test-utils/fresh-dist';
import { waitFor } from '../../../core/src/test-utils/wait-for';

// `lockstep group run|status` as real processes: the built binary (npm test builds first),
// a private lock dir, real commands inside the group.
const BIN = path.join(__dirname, '..', '..', 'dist', 'bin.js');

// dist/bin.js (and the core dist it loads) must be built from the current sources.
beforeAll(() => assertFreshDist(['packages/core', 'packages/cli']), 60_000); // runs tsc -b --dry
// Sized for a busy 2-core machine, where one node process can take seconds to start
// (every test starts several): each wait gives up, saying what for, well before its test does.
const WAIT_MS = 60_000;
const TEST_MS = 120_000;

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
    // each run is a process group of its own (lockstep and its command): a failed test leaves none behind
    for (const r of runs.splice(0)) {
      try {
        process.kill(-r.child.pid!, 'SIGKILL');
      } catch {
        // the group has ended
      }
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }); // a child just killed may still be writing
  });

  const lockstep = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Run => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
  const untilStatus = (group: string, what: string, ok: (data: any) => boolean): Promise<any> => {
    let last: any;
    return waitFor(async () => (ok((last = await status(group))) ? last : undefined), { timeoutMs: WAIT_MS, intervalMs: 50, what: () => `${group}: ${what}; last status ${JSON.stringify(last)}` });
  };
  const untilHolders = (group: string, n: number) => untilStatus(group, `${n} holder(s)`, (data) => data.holders.length === n);
  // A command that holds until the test says so: it writes <name>.seen (the names in <dir> at its start,
  // to tell which runs had ended by then) and then <name>.started, waits for <name>.release, writes
  // <name>.ended and exits (at once, too, when <dir> is gone: a failed test leaves no command behind).
  const HOLD = `const fs=require('fs'),path=require('path');const [d,n]=process.argv.slice(1);const p=(s)=>path.join(d,n+'.'+s);fs.writeFileSync(p('seen'),JSON.stringify(fs.readdirSync(d)));fs.writeFileSync(p('started'),'');const t=setInterval(()=>{if(!fs.existsSync(d))process.exit(1);if(fs.existsSync(p('release'))){clearInterval(t);fs.writeFileSync(p('ended'),'')}},10);`;
  const hold = (name: string) => nodeCmd(HOLD, dir, name);
  const marker = (name: string, what: 'seen' | 'started' | 'release' | 'ended') => path.join(dir, `${name}.${what}`);
  const release = (name: string) => writeFileSync(marker(name, 'release'), '');
  const untilStarted = (name: string) => waitFor(() => existsSync(marker(name, 'started')), { timeoutMs: WAIT_MS, what: `the command of run ${name} to start` });
  /** The names in <dir> when the command of run `name` started. */
  const seenAtStart = (name: string): string[] => JSON.parse(readFileSync(marker(name, 'seen'), 'utf8'));

  it("exits with the command's code, passes its output through, and 128 + n when a signal ended it", async () => {
    const ok = lockstep(['group', 'run', '--group', 'g', ...nodeCmd("console.log('from the command'); process.exit(7)")]);
    expect((await ok.done).code).toBe(7);
    expect(ok.stdout()).toBe('from the command\n');
    const killed = lockstep(['group', 'run', '--group', 'g', ...nodeCmd("process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000)")]);
    expect((await killed.done).code).toBe(143);
  }, TEST_MS);

  it('a second run waits for the first, says what it waits for, and starts after it ended', async () => {
    // the first holds the group until the second is queued behind it
    const first = lockstep(['group', 'run', '--group', 'deploy', ...hold('a')]);
    await untilStarted('a');
    const second = lockstep(['group', 'run', '--group', 'deploy', ...hold('b')]);
    await untilStatus('deploy', 'the second run queued', (data) => data.queue.length === 1);
    expect(existsSync(marker('b', 'started'))).toBe(false);
    release('a');
    expect((await first.done).code).toBe(0);
    await untilStarted('b');
    release('b');
    expect((await second.done).code).toBe(0);
    // the first's command had ended when the second's started
    expect(seenAtStart('b')).toContain('a.ended');
    expect(second.stderr()).toMatch(new RegExp(`^\\[lockstep\\] Waiting for deploy \\(0 ahead, held by ${first.child.pid}@\\S+ since \\d{4}-`, 'm'));
  }, TEST_MS);

  it('--max 2: two run at once, the third waits for a slot (3 runs that hold until released)', async () => {
    const args = (name: string) => ['group', 'run', '--group', 'pool', '--max', '2', ...hold(name)];
    const a = lockstep(args('a'));
    const b = lockstep(args('b'));
    // a and b run at once: both commands started, neither released
    await untilStarted('a');
    await untilStarted('b');
    await untilHolders('pool', 2);
    const c = lockstep(args('c'));
    await untilStatus('pool', 'the third run queued', (data) => data.queue.length === 1 && data.holders.length === 2);
    expect(existsSync(marker('c', 'started'))).toBe(false);
    // one slot frees: c takes it and runs alongside b, which still holds
    release('a');
    expect((await a.done).code).toBe(0);
    await untilStarted('c');
    expect(seenAtStart('c')).toContain('a.ended');
    expect(seenAtStart('c')).not.toContain('b.ended');
    release('b');
    release('c');
    for (const r of [b, c]) expect((await r.done).code).toBe(0);
  }, TEST_MS);

  it('--cancel-in-progress: the running command gets SIGTERM, lockstep says by whom, and the newer run goes ahead within the grace window', async () => {
    // says it is ready once its SIGTERM handler is in place (a SIGTERM before that would just end it)
    const stubbornUntilTerm = `const fs=require('fs');process.on('SIGTERM',()=>{fs.writeFileSync(process.argv[1],'term');process.exit(5)});fs.writeFileSync(process.argv[2],'');setInterval(()=>{},1000)`;
    const ready = path.join(dir, 'ready');
    const old = lockstep(['group', 'run', '--group', 'rel', ...nodeCmd(stubbornUntilTerm, path.join(dir, 'term'), ready)]);
    await waitFor(() => existsSync(ready), { timeoutMs: WAIT_MS, what: 'the command of the old run to be ready' });
    await untilHolders('rel', 1);
    // A grace window longer than this test's timeout: that the newer run finishes at all shows it
    // went ahead when the old run stopped on SIGTERM, not when a SIGKILL ended the window.
    const newer = lockstep(['group', 'run', '--group', 'rel', '--cancel-in-progress', ...nodeCmd("console.log('newer ran')")], { LOCKSTEP_KILL_GRACE_MS: String(10 * TEST_MS) });
    const oldExit = await old.done;
    expect(oldExit.code).toBe(5);
    expect(readFileSync(path.join(dir, 'term'), 'utf8')).toBe('term');
    expect(old.stderr()).toMatch(new RegExp(`This run of rel was superseded by pid ${newer.child.pid}@\\S+ \\('lockstep group run -- .*'\\) at \\d{4}-`));
    expect((await newer.done).code).toBe(0);
    expect(newer.stdout()).toBe('newer ran\n');
    expect(newer.stderr()).toMatch(/cancelInProgress: superseding the run holding rel, pid \d+@/);
  }, TEST_MS);

  it('a command that cannot be started: ECOMMAND with a hint, exit 127 as a shell would, and the group is free', async () => {
    const r = lockstep(['group', 'run', '--group', 'nf', '--', 'no-such-program-lockstep']);
    expect((await r.done).code).toBe(127);
    expect(r.stderr()).toMatch(/\[ECOMMAND\] Could not start 'no-such-program-lockstep'.*\n  Hint: .*sh -c/);
    expect((await status('nf')).holders).toEqual([]);
  }, TEST_MS);

  it('forwards SIGTERM to the command and exits 143; the group is free afterwards', async () => {
    // once the command runs, lockstep forwards signals to it
    const run = lockstep(['group', 'run', '--group', 'sig', ...hold('sig')]);
    await untilStarted('sig');
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(143);
    expect((await status('sig')).holders).toEqual([]);
  }, TEST_MS);

  it('group status --json: the holder and the queue in order, without tokens; --wait-timeout ends a wait with exit 4', async () => {
    // the holder holds until it is stopped at the end; the first waiter waits longer than the test
    // (so that status sees it queued however slow the machine), the second gives up after 1 s
    const holder = lockstep(['group', 'run', '--group', 'st', ...nodeCmd('setInterval(()=>{},1000)')]);
    await untilHolders('st', 1);
    const waiter = lockstep(['group', 'run', '--group', 'st', '--wait-timeout', '1h', ...nodeCmd('0')]);
    const data = await untilStatus('st', 'one waiter queued', (d) => d.queue.length === 1);
    expect(data).toMatchObject({
      group: 'st',
      key: 'group:st',
      holders: [{ slot: 0, state: 'alive', holder: { pid: holder.child.pid, command: expect.stringContaining('lockstep group run -- ') } }],
      queue: [{ pid: waiter.child.pid }],
    });
    expect(JSON.stringify(data)).not.toMatch(/token/);
    // only the program's name: arguments can carry secrets
    expect(data.holders[0].holder.command).toBe('lockstep group run -- node (+2 arguments)');
    // a waiter stopped by a signal leaves the queue
    waiter.child.kill('SIGTERM');
    await waiter.done;
    await untilStatus('st', 'the queue to empty', (d) => d.queue.length === 0);
    const impatient = lockstep(['group', 'run', '--group', 'st', '--wait-timeout', '1s', ...nodeCmd('0')]);
    const waited = await impatient.done;
    expect(waited.code).toBe(4);
    expect(impatient.stderr()).toMatch(/\[ELOCKTIMEOUT\] Timed out after 1 s waiting for the concurrency group st\. It is held by pid \d+/);
    expect(impatient.stderr()).toMatch(/Hint: Wait longer .*--wait-timeout.*lockstep group status --group st/);
    holder.child.kill('SIGTERM');
    await holder.done;
  }, TEST_MS);

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
  }, TEST_MS);
});
