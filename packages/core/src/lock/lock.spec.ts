import { mkdirSync, renameSync, symlinkSync } from 'fs';
import * as path from 'path';
import { expectLockstepError } from '../test-utils/lockstep-error';
import { useTempDir } from '../test-utils/temp-dir';
import { sleep } from '../util/sleep';
import { acquireLock, withLock } from './lock';
import { resolveLockDir } from './lock-dir';
import * as mutex from './mutex';
import { readLockStatus } from './status';

describe('acquireLock (in one process)', () => {
  const tmp = useTempDir();
  const lockDir = () => {
    const dir = path.join(tmp(), 'locks');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  };

  it('acquires, shows the holder in the status, and releases', async () => {
    const dir = lockDir();
    const lock = await acquireLock('path:/a', { lockDir: dir, command: 'test holder' });
    const status = readLockStatus('path:/a', { lockDir: dir });
    expect(status).toMatchObject({ state: 'alive', holder: { pid: process.pid, command: 'test holder', key: 'path:/a' }, queue: [] });
    expect(await lock.release()).toBe(true);
    expect(await lock.release()).toBe(true);
    expect(readLockStatus('path:/a', { lockDir: dir }).state).toBe('free');
  });

  it('times out with ELOCKTIMEOUT naming the holder and how to clear it', async () => {
    const dir = lockDir();
    const holder = await acquireLock('path:/b', { lockDir: dir, command: 'nx run app:gen' });
    const waits: number[] = [];
    const error = await expectLockstepError(
      acquireLock('path:/b', { lockDir: dir, timeoutMs: 150, onWait: (i) => waits.push(i.ahead) }),
      'ELOCKTIMEOUT',
      /^Timed out after \d+ s waiting for the lock on path:\/b\. It is held by pid \d+ .*command 'nx run app:gen'/,
    );
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.hint).toContain(path.join(holder.path, 'held'));
    expect(waits).toEqual([0]);
    // the timed-out waiter left the queue
    expect(readLockStatus('path:/b', { lockDir: dir }).queue).toEqual([]);
    await holder.release();
  });

  it('names what is waited for as the caller says (what, timeoutHint), in the timeout and the abort', async () => {
    const dir = lockDir();
    const holder = await acquireLock('group:deploy', { lockDir: dir });
    const named = { lockDir: dir, what: 'the concurrency group deploy', timeoutHint: 'Use --wait-timeout.' };
    const error = await expectLockstepError(acquireLock('group:deploy', { ...named, timeoutMs: 100 }), 'ELOCKTIMEOUT', /waiting for the concurrency group deploy\. It is held by pid /);
    expect(error.hint).toBe('Use --wait-timeout.');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expectLockstepError(acquireLock('group:deploy', { ...named, signal: controller.signal }), 'EABORTED', 'Stopped waiting for the concurrency group deploy.');
    await holder.release();
  });

  it('hands over to a waiter when the holder releases, and serialises withLock bodies', async () => {
    const dir = lockDir();
    let inside = 0;
    let maxInside = 0;
    const body = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await sleep(10);
      inside--;
    };
    await Promise.all(Array.from({ length: 5 }, () => withLock('path:/c', { lockDir: dir }, body)));
    expect(maxInside).toBe(1);
  });

  it('stops waiting with EABORTED when its signal aborts', async () => {
    const dir = lockDir();
    const holder = await acquireLock('path:/d', { lockDir: dir });
    const controller = new AbortController();
    const waiting = acquireLock('path:/d', { lockDir: dir, signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expectLockstepError(waiting, 'EABORTED', 'Stopped waiting for the lock on path:/d.');
    await holder.release();
  });
});

describe('shared holds (one run, many task processes)', () => {
  const tmp = useTempDir();
  const lockDir = () => {
    const dir = path.join(tmp(), 'locks');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  };

  it('lets processes naming the same run pid join the hold, and keeps other runs out until it is released', async () => {
    const dir = lockDir();
    const first = await acquireLock('group:publish', { lockDir: dir, share: true, pid: process.pid });
    expect(first.joined).toBe(false);
    const second = await acquireLock('group:publish', { lockDir: dir, share: true, pid: process.pid });
    expect(second.joined).toBe(true);
    second.detach();
    expect(readLockStatus('group:publish', { lockDir: dir }).state).toBe('alive');
    // Another run (pid 1 stands for a different, live Nx invocation) must wait.
    await expectLockstepError(acquireLock('group:publish', { lockDir: dir, share: true, pid: 1, timeoutMs: 100 }), 'ELOCKTIMEOUT');
    expect(await first.release()).toBe(true);
    expect(readLockStatus('group:publish', { lockDir: dir }).state).toBe('free');
  });

  it('breaks a live holder with force, saying whom it broke', async () => {
    const dir = lockDir();
    const holder = await acquireLock('group:publish', { lockDir: dir, command: 'nx release publish' });
    const forced: string[] = [];
    const breaker = await acquireLock('group:publish', { lockDir: dir, force: true, onForce: (o) => forced.push(o?.command ?? '?') });
    expect(forced).toEqual(['nx release publish']);
    expect(await holder.release()).toBe(false);
    expect(await breaker.release()).toBe(true);
  });
});

describe('a lock directory swapped in the middle of an acquire', () => {
  const tmp = useTempDir();

  // The swap lands between two steps of taking the lock: the step after it fails with a bare ENOENT.
  const swapDuringTake = (dir: string, replacement?: string) =>
    jest.spyOn(mutex, 'tryTakeHeld').mockImplementationOnce(() => {
      renameSync(dir, `${dir}.moved`);
      if (replacement) symlinkSync(replacement, dir);
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${dir}/…/owner.json'`), { code: 'ENOENT' });
    });

  it('is ELOCKDIRUNSAFE naming the swap, not the ENOENT it caused (EINTERNAL)', async () => {
    const dir = resolveLockDir({ LOCKSTEP_LOCK_DIR: path.join(tmp(), 'locks') });
    const theirs = path.join(tmp(), 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    const spy = swapDuringTake(dir, theirs);
    try {
      await expectLockstepError(acquireLock('path:/swapped', { lockDir: dir }), 'ELOCKDIRUNSAFE', /was replaced while this process was using it: .*now it is a symlink/);
    } finally {
      spy.mockRestore();
    }
  });

  it('is ELOCKDIRUNSAFE when the directory was only moved away', async () => {
    const dir = resolveLockDir({ LOCKSTEP_LOCK_DIR: path.join(tmp(), 'locks') });
    const spy = swapDuringTake(dir);
    try {
      await expectLockstepError(acquireLock('path:/gone', { lockDir: dir }), 'ELOCKDIRUNSAFE', 'disappeared while this process was using it');
    } finally {
      spy.mockRestore();
    }
  });
});
