import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { ensureMutexDirs, inspectHolder, mutexPaths, placeEntry, removeHolder, tryTakeHeld } from './mutex';
import { LockOwner, makeOwner } from './owner';
import { ProcessProbe } from './process-probe';

/** A probe where only the pids in `alive` run, all on host 'here'. */
const probeWith = (alive: Set<number>): ProcessProbe => ({
  hostname: () => 'here',
  isAlive: (pid) => alive.has(pid),
  startTime: () => undefined,
});

describe('mutex', () => {
  const tmp = useTempDir();
  const alive = new Set([100, 200, 300]);
  const probe = probeWith(alive);
  const owner = (pid: number): LockOwner => makeOwner('k', probe, pid, `proc ${pid}`);
  const setup = () => {
    const paths = mutexPaths(path.join(tmp(), 'locks'), 'k');
    ensureMutexDirs(paths, 'k');
    return paths;
  };
  const heldToken = (paths: ReturnType<typeof setup>) => JSON.parse(readFileSync(path.join(paths.held, 'owner.json'), 'utf8')).token;

  it('admits one holder and reports it alive', () => {
    const paths = setup();
    const a = owner(100);
    expect(tryTakeHeld(paths, a)).toBe(true);
    expect(tryTakeHeld(paths, owner(200))).toBe(false);
    expect(inspectHolder(paths, probe, 30_000)).toMatchObject({ state: 'alive', identity: a.token });
  });

  it('judges a holder whose pid is gone dead, and one with an old heartbeat stale', () => {
    const paths = setup();
    tryTakeHeld(paths, owner(999));
    expect(inspectHolder(paths, probe, 30_000).state).toBe('dead');
    const other = mutexPaths(path.join(tmp(), 'locks'), 'k2');
    ensureMutexDirs(other, 'k2');
    tryTakeHeld(other, owner(100));
    const old = new Date(Date.now() - 60_000);
    utimesSync(other.held, old, old);
    expect(inspectHolder(other, probe, 30_000).state).toBe('stale');
    const future = new Date(Date.now() + 60_000);
    utimesSync(other.held, future, future);
    expect(inspectHolder(other, probe, 30_000).state).toBe('stale');
  });

  it('never removes a holder that replaced the one a reclaimer observed (the ABA of stat-then-remove)', () => {
    const paths = setup();
    tryTakeHeld(paths, owner(999));
    const observedByA = inspectHolder(paths, probe, 30_000);
    expect(observedByA.state).toBe('dead');
    // B reclaims first and takes the lock.
    const b = owner(200);
    expect(removeHolder(paths, observedByA.identity!, b, probe, 30_000)).toBe(true);
    expect(tryTakeHeld(paths, b)).toBe(true);
    // A now acts on its stale observation: it must not touch B's lock.
    expect(removeHolder(paths, observedByA.identity!, owner(100), probe, 30_000)).toBe(false);
    expect(heldToken(paths)).toBe(b.token);
  });

  it('does not remove a holder while a live process holds the claim to remove it', () => {
    const paths = setup();
    const dead = owner(999);
    tryTakeHeld(paths, dead);
    placeEntry(paths.base, path.join(paths.claims, dead.token), owner(300));
    expect(removeHolder(paths, dead.token, owner(100), probe, 30_000)).toBe(false);
    expect(heldToken(paths)).toBe(dead.token);
  });

  it('takes over the claim of a claimer that died mid-removal', () => {
    const paths = setup();
    const dead = owner(999);
    tryTakeHeld(paths, dead);
    placeEntry(paths.base, path.join(paths.claims, dead.token), owner(998));
    expect(removeHolder(paths, dead.token, owner(100), probe, 30_000)).toBe(true);
    expect(inspectHolder(paths, probe, 30_000).state).toBe('free');
  });

  it('treats an unreadable owner file by its heartbeat alone', () => {
    const paths = setup();
    mkdirSync(paths.held);
    writeFileSync(path.join(paths.held, 'owner.json'), '{torn');
    expect(inspectHolder(paths, probe, 30_000).state).toBe('alive');
    const old = new Date(Date.now() - 60_000);
    utimesSync(paths.held, old, old);
    const view = inspectHolder(paths, probe, 30_000);
    expect(view).toMatchObject({ state: 'stale', owner: null });
    expect(removeHolder(paths, view.identity!, owner(100), probe, 30_000)).toBe(true);
  });
});
