import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ProcessProbe } from '../lock/process-probe';
import { RunMarkers } from './run-markers';

describe('RunMarkers: what the tasks of one per-task run tell each other', () => {
  let dir: string;
  const alive = new Set<number>();
  const probe: ProcessProbe = { hostname: () => 'host-a', isAlive: (pid) => alive.has(pid), startTime: (pid) => (alive.has(pid) ? `t${pid}` : undefined) };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-markers-'));
    alive.clear();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('claim: exactly one task of the run wins a name (and keeps winning it); another run claims its own', () => {
    const a = new RunMarkers(dir, 'host-a:100:t100', 201, probe);
    const b = new RunMarkers(dir, 'host-a:100:t100', 202, probe);
    expect(a.claim('waiting')).toBe(true);
    expect(b.claim('waiting')).toBe(false);
    expect(a.claim('waiting')).toBe(true);
    expect(b.claim('reported')).toBe(true);
    expect(new RunMarkers(dir, 'host-a:300:t300', 301, probe).claim('waiting')).toBe(true);
  });

  it('flag: any task of the run may set it, any number of times; every task of the run sees it, another run does not', () => {
    const a = new RunMarkers(dir, 'host-a:100:t100', 201, probe);
    const b = new RunMarkers(dir, 'host-a:100:t100', 202, probe);
    expect(b.has('ended-badly')).toBe(false);
    a.flag('ended-badly');
    b.flag('ended-badly');
    a.flag('ended-badly');
    expect([a.has('ended-badly'), b.has('ended-badly'), new RunMarkers(dir, 'host-a:100:t100', 203, probe).has('ended-badly')]).toEqual([true, true, true]);
    expect(new RunMarkers(dir, 'host-a:300:t300', 301, probe).has('ended-badly')).toBe(false);
  });

  it('shared: the first task to ask computes the run\'s answer, the others read it (undefined too); another run computes its own', () => {
    const a = new RunMarkers(dir, 'host-a:100:t100', 201, probe);
    const b = new RunMarkers(dir, 'host-a:100:t100', 202, probe);
    const asked: string[] = [];
    expect(a.shared('git-sha', () => (asked.push('a'), 'f00d'))).toBe('f00d');
    expect(b.shared('git-sha', () => (asked.push('b'), 'beef'))).toBe('f00d');
    expect(a.shared('none', () => (asked.push('a-none'), undefined))).toBeUndefined();
    expect(b.shared('none', () => (asked.push('b-none'), 'x'))).toBeUndefined();
    expect(new RunMarkers(dir, 'host-a:300:t300', 301, probe).shared('git-sha', () => (asked.push('c'), 'cafe'))).toBe('cafe');
    expect(asked).toEqual(['a', 'a-none', 'c']);
    // No temp file is left beside the answers.
    expect(readdirSync(a.dir).sort()).toEqual(['git-sha.json', 'none.json']);
  });

  it('othersActive: of tasks ending together, the last to leave sees none; a task that died does not count', () => {
    alive.add(201).add(202);
    const a = new RunMarkers(dir, 'host-a:100:t100', 201, probe);
    const b = new RunMarkers(dir, 'host-a:100:t100', 202, probe);
    a.enter();
    b.enter();
    a.leave();
    expect(a.othersActive()).toBe(true);
    b.leave();
    expect(b.othersActive()).toBe(false);
    const c = new RunMarkers(dir, 'host-a:100:t100', 203, probe);
    c.enter();
    expect(a.othersActive()).toBe(false); // 203 is not alive
  });

  it('sweep removes the folders of this host\'s runs whose root process is gone, never a live run\'s or another host\'s', () => {
    alive.add(100);
    for (const id of ['host-a:100:t100', 'host-a:555:t555', 'host-a:100:old', 'host-b:777:t777']) new RunMarkers(dir, id, 1, probe).claim('completed');
    new RunMarkers(dir, 'host-a:100:t100', 1, probe).sweep();
    const runs = path.join(dir, 'runs');
    expect(existsSync(path.join(runs, 'host-a_100_t100'))).toBe(true);
    expect(existsSync(path.join(runs, 'host-a_555_t555'))).toBe(false);
    expect(existsSync(path.join(runs, 'host-a_100_old'))).toBe(false);
    expect(existsSync(path.join(runs, 'host-b_777_t777'))).toBe(true);
  });

  it('sweep without a runs folder does nothing', () => {
    mkdirSync(dir, { recursive: true });
    expect(() => new RunMarkers(dir, 'host-a:1:t1', 1, probe).sweep()).not.toThrow();
  });
});
