import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { assertFreshDist } from '../test-utils/fresh-dist';
import { useTempDir } from '../test-utils/temp-dir';
import { waitFor } from '../test-utils/wait-for';
import type { GroupMemberEvent } from '../test-utils/worker-protocol';
import { readGroupStatus } from './group';

// Real processes in one concurrency group (the fixture loads packages/core/dist).
const MEMBER = path.join(__dirname, '__fixtures__', 'group-member.js');

// The processes it starts load packages/core/dist: a stale build fails here, not silently.
beforeAll(() => assertFreshDist());

// Sized for a busy 2-core machine, where one node process can take seconds to
// start: each wait below gives up (saying what for) well before its test does.
const WAIT_MS = 60_000;

type Event = GroupMemberEvent;

class Member {
  readonly events: Event[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private buffer = '';

  constructor(config: object) {
    this.child = spawn(process.execPath, [MEMBER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let nl;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(this.buffer.slice(0, nl)));
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  find(name: string): Event | undefined {
    return this.events.find((e) => e.event === name);
  }

  until(name: string, timeoutMs = WAIT_MS): Promise<Event> {
    return waitFor(() => this.find(name), { timeoutMs, what: () => `a '${name}' event from pid ${this.pid}; saw ${JSON.stringify(this.events)}` });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe('concurrency groups with real processes', () => {
  const members: Member[] = [];
  const start = (config: object) => {
    const m = new Member(config);
    members.push(m);
    return m;
  };
  // Declared before useTempDir: jest runs the afterEach hooks of one describe in declaration order, so every
  // member is dead before its lock dir is removed (a member still releasing there made the removal fail ENOTEMPTY).
  afterEach(async () => {
    const stopping = members.splice(0);
    for (const m of stopping) m.kill();
    await Promise.all(stopping.map((m) => m.exited));
  }, 30_000);
  const tmp = useTempDir();
  const lockDir = () => {
    const dir = path.join(tmp(), 'locks');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  };

  it('five waiters queued in a known order are admitted in that order, and say what they wait for', async () => {
    const dir = lockDir();
    const base = { lockDir: dir, key: 'group:fifo', group: 'fifo' };
    // The holder keeps the group until all five are queued, however long their start-up takes.
    const releaseFile = path.join(tmp(), 'release-holder');
    const holder = start({ ...base, releaseFile });
    await holder.until('acquired');
    const waiters: Member[] = [];
    for (let i = 0; i < 5; i++) {
      waiters.push(start({ ...base, holdMs: 30 }));
      // the next waiter starts only once this one's ticket is in the queue
      await waitFor(() => readGroupStatus({ group: 'fifo', key: 'group:fifo', lockDir: dir }).queue.length === i + 1, {
        timeoutMs: WAIT_MS,
        what: `waiter ${i + 1}'s ticket in the fifo queue`,
      });
    }
    writeFileSync(releaseFile, '');
    await Promise.all(waiters.map((w) => w.until('released')));
    const order = [...waiters].sort((a, b) => a.find('acquired')!.t - b.find('acquired')!.t);
    expect(order.map((w) => w.pid)).toEqual(waiters.map((w) => w.pid));
    const firstWait = waiters[1].events.find((e) => e.event === 'log')!.line;
    expect(firstWait).toMatch(new RegExp(`^Waiting for fifo \\(1 ahead, held by ${holder.pid}@\\S+ since \\d{4}-`));
  }, 120_000);

  it('max: 3 admits three at once and never four (3 rounds × 10 processes, O_EXCL markers)', async () => {
    const dir = lockDir();
    let peak = 0;
    for (let round = 0; round < 3; round++) {
      const markerDir = path.join(tmp(), `markers-${round}`);
      mkdirSync(markerDir);
      // All ten ask at once, however slowly they start (a busy machine can spread start-ups wider than a hold).
      const goFile = path.join(tmp(), `go-three-${round}`);
      const round_ = Array.from({ length: 10 }, () => start({ lockDir: dir, key: 'group:three', max: 3, holdMs: 300, markerDir, goFile }));
      await Promise.all(round_.map((m) => m.until('ready')));
      writeFileSync(goFile, '');
      await Promise.all(round_.map((m) => m.until('released')));
      for (const m of round_) {
        const acquired = m.find('acquired')!;
        const released = m.find('released')!;
        expect(acquired.slot).toBeGreaterThanOrEqual(0);
        expect(acquired.slot).toBeLessThan(3);
        peak = Math.max(peak, acquired.concurrent, released.concurrent);
      }
      // From the timestamps too (both taken inside the hold): no instant has four holders.
      const spans = round_.map((m) => [m.find('acquired')!.t, m.find('releasing')!.t]);
      for (const [t] of spans) expect(spans.filter(([a, b]) => a <= t && t < b).length).toBeLessThanOrEqual(3);
    }
    expect(peak).toBe(3);
  }, 120_000);

  it('three tasks of one run starting together in a max: 2 group share one slot (20 rounds)', async () => {
    const dir = lockDir();
    for (let round = 0; round < 20; round++) {
      const key = `group:run-${round}`;
      const goFile = path.join(tmp(), `go-${round}`);
      const tasks = Array.from({ length: 3 }, () => start({ lockDir: dir, key, max: 2, runPid: process.pid, detach: true, goFile }));
      await Promise.all(tasks.map((t) => t.until('ready')));
      writeFileSync(goFile, '');
      const acquired = await Promise.all(tasks.map((t) => t.until('acquired')));
      expect({ round, slots: [...new Set(acquired.map((a) => a.slot))] }).toEqual({ round, slots: [acquired[0].slot] });
      expect(acquired.filter((a) => !a.joined)).toHaveLength(1);
      expect(readGroupStatus({ group: 'run', key, lockDir: dir }).holders).toHaveLength(1);
    }
  }, 180_000);

  it('cancelInProgress: the holder is told by whom, stops within the grace window, and the newer run gets the group', async () => {
    const dir = lockDir();
    const base = { lockDir: dir, key: 'group:cancel', group: 'cancel' };
    const old = start({ ...base, holdMs: 60_000, onTerm: 'graceful', stopMs: 200 });
    await old.until('acquired');
    // A window a busy machine cannot overrun by accident: only a holder that does not stop would see its end.
    const newer = start({ ...base, holdMs: 10, cancelInProgress: true, graceMs: 30_000 });
    const acquired = await newer.until('acquired');
    const term = await old.until('sigterm');
    expect(term.by).toContain(`superseded by pid ${newer.pid}@`);
    const exit = await old.exited;
    // Stopped on its own within the grace window: exit 143 from its handler, never the SIGKILL that ends the window.
    expect(exit).toMatchObject({ code: 143, signal: null });
    expect(newer.events.some((e) => e.event === 'log' && /did not stop within .*: SIGKILL/.test(e.line))).toBe(false);
    expect(acquired.t).toBeGreaterThanOrEqual(old.find('releasing')!.t);
    expect(newer.events.some((e) => e.event === 'log' && /superseding the run holding cancel, pid \d+@/.test(e.line))).toBe(true);
  }, 120_000);

  it('cancelInProgress: a holder that ignores SIGTERM is SIGKILLed after the grace window, not before', async () => {
    const dir = lockDir();
    const base = { lockDir: dir, key: 'group:stubborn', group: 'stubborn' };
    const old = start({ ...base, holdMs: 60_000, onTerm: 'ignore' });
    await old.until('acquired');
    const startedAt = Date.now();
    const newer = start({ ...base, holdMs: 10, cancelInProgress: true, graceMs: 800 });
    await old.until('sigterm');
    const acquired = await newer.until('acquired');
    const exit = await old.exited;
    expect(exit.signal).toBe('SIGKILL');
    // Not before the grace window: a lower bound the newer run's own timer enforces, so load cannot break it.
    expect(exit.at - startedAt).toBeGreaterThanOrEqual(800);
    // The newer run took the group only after it had SIGKILLed the holder (its own events, in order).
    const killedAt = newer.events.findIndex((e) => e.event === 'log' && /did not stop within 800ms: SIGKILL/.test(e.line));
    expect(killedAt).toBeGreaterThanOrEqual(0);
    expect(newer.events.indexOf(acquired)).toBeGreaterThan(killedAt);
  }, 120_000);

  it('cancelInProgress also cancels runs queued ahead: they leave the queue and never run', async () => {
    const dir = lockDir();
    const base = { lockDir: dir, key: 'group:queued', group: 'queued' };
    const old = start({ ...base, holdMs: 60_000, onTerm: 'graceful', stopMs: 10 });
    await old.until('acquired');
    const queued = start({ ...base, holdMs: 10 });
    await waitFor(() => readGroupStatus({ group: 'queued', key: 'group:queued', lockDir: dir }).queue.length === 1, {
      timeoutMs: WAIT_MS,
      what: 'the second run in the queued group\'s queue',
    });
    const newer = start({ ...base, holdMs: 10, cancelInProgress: true, graceMs: 30_000 });
    await newer.until('released');
    const error = await queued.until('error');
    expect(error.code).toBe('EABORTED');
    expect(queued.find('acquired')).toBeUndefined();
    expect(old.find('sigterm')!.by).toContain(`pid ${newer.pid}`);
  }, 120_000);

  it('max must agree: a run asking for another max than the holder, or a waiter, fails with EBADOPTIONS naming both values', async () => {
    const dir = lockDir();
    const base = { lockDir: dir, key: 'group:agree', group: 'agree' };
    const holder = start({ ...base, max: 2, holdMs: 60_000 });
    await holder.until('acquired');
    const wider = start({ ...base, max: 3, holdMs: 10 });
    const error = await wider.until('error');
    expect(error).toMatchObject({ code: 'EBADOPTIONS', message: expect.stringMatching(/in use with max 2 by pid \d+.*asks for max 3/) });
    expect(wider.find('acquired')).toBeUndefined();
    // The same max is admitted beside the holder (a second slot).
    const same = start({ ...base, max: 2, holdMs: 10 });
    await same.until('released');
  }, 120_000);
});
