import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';
import { LockstepError } from '../errors';
import { LocalLeaseBackend } from '../lease/local';
import { parseResource } from '../lease/resource';
import { useTempDir } from '../test-utils/temp-dir';
import { waitFor } from '../test-utils/wait-for';
import { Worker } from '../test-utils/workers';
import type { LockDirAttacker, LockDirVictim } from '../test-utils/worker-protocol';
import { acquireLock } from './lock';
import { resolveLockDir, verifyLockDir } from './lock-dir';

const VICTIM = path.join(__dirname, '__fixtures__', 'lockdir-victim.js');
const ATTACKER = path.join(__dirname, '__fixtures__', 'lockdir-attacker.js');
/** Not us: root (which these tests run as) may chown to it. */
const OTHER_UID = 12345;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function refusal(fn: () => unknown): LockstepError {
  try {
    fn();
  } catch (error) {
    return error as LockstepError;
  }
  throw new Error('expected ELOCKDIRUNSAFE, but the lock directory was accepted');
}

function expectUnsafe(error: LockstepError, mentions: string | RegExp): void {
  expect(error).toBeInstanceOf(LockstepError);
  expect(error.code).toBe('ELOCKDIRUNSAFE');
  expect(error.message).toMatch(mentions);
  expect(typeof error.hint).toBe('string');
  expect(error.hint!.length).toBeGreaterThan(10);
}

function privateDir(p: string): string {
  mkdirSync(p, { recursive: true, mode: 0o700 });
  chmodSync(p, 0o700);
  return p;
}

/** Waits for a process to get somewhere: generous for a busy 2-core machine, and below the tests' own timeouts. */
const WAIT_MS = 30_000;

describe('resolveLockDir refuses an unsafe lock directory (ELOCKDIRUNSAFE, with a hint)', () => {
  const tmp = useTempDir();

  const cases: Array<{ name: string; setup: (t: string) => NodeJS.ProcessEnv; mentions: (t: string) => string | RegExp; root?: boolean }> = [
    {
      name: 'a symlink to a private directory of ours',
      setup: (t) => {
        symlinkSync(privateDir(path.join(t, 'mine')), path.join(t, 'link'));
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'link') };
      },
      mentions: (t) => new RegExp(`${path.join(t, 'link')} is a symlink \\(to ${path.join(t, 'mine')}\\)`),
    },
    {
      name: 'a dangling symlink',
      setup: (t) => {
        symlinkSync(path.join(t, 'nowhere'), path.join(t, 'link'));
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'link') };
      },
      mentions: () => /is a symlink .*which does not exist/,
    },
    {
      name: 'a regular file',
      setup: (t) => {
        writeFileSync(path.join(t, 'file'), 'x');
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'file') };
      },
      mentions: (t) => `${path.join(t, 'file')} is a regular file`,
    },
    {
      name: 'a path below a regular file (ENOTDIR)',
      setup: (t) => {
        writeFileSync(path.join(t, 'file'), 'x');
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'file', 'locks') };
      },
      mentions: (t) => `${path.join(t, 'file')} is a regular file, not a directory`,
    },
    {
      name: 'a relative LOCKSTEP_LOCK_DIR',
      setup: () => ({ LOCKSTEP_LOCK_DIR: 'tmp/locks' }),
      mentions: () => "LOCKSTEP_LOCK_DIR must be an absolute path, not 'tmp/locks'",
    },
    {
      name: 'a group-writable directory (0770)',
      setup: (t) => {
        chmodSync(privateDir(path.join(t, 'locks')), 0o770);
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'locks') };
      },
      mentions: () => /writable by its group \(mode 770\)/,
    },
    {
      name: 'a world-writable directory (0777)',
      setup: (t) => {
        chmodSync(privateDir(path.join(t, 'locks')), 0o777);
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'locks') };
      },
      mentions: () => /writable by every user \(mode 777\)/,
    },
    {
      name: 'a symlinked lockstep child of XDG_RUNTIME_DIR',
      setup: (t) => {
        const xdg = privateDir(path.join(t, 'run-user'));
        symlinkSync(privateDir(path.join(t, 'elsewhere')), path.join(xdg, 'lockstep'));
        return { XDG_RUNTIME_DIR: xdg };
      },
      mentions: (t) => `${path.join(t, 'run-user', 'lockstep')} is a symlink`,
    },
    {
      name: 'a directory that belongs to another user',
      root: true,
      setup: (t) => {
        chownSync(privateDir(path.join(t, 'locks')), OTHER_UID, OTHER_UID);
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'locks') };
      },
      mentions: () => `belongs to uid ${OTHER_UID}, not to you`,
    },
    {
      name: 'a default path another user planted as a symlink to their directory',
      root: true,
      setup: (t) => {
        const theirs = privateDir(path.join(t, 'theirs'));
        chownSync(theirs, OTHER_UID, OTHER_UID);
        symlinkSync(theirs, path.join(t, 'run-user-lockstep'));
        lchownSync(path.join(t, 'run-user-lockstep'), OTHER_UID, OTHER_UID);
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'run-user-lockstep') };
      },
      mentions: () => 'is a symlink',
    },
    {
      name: 'a parent that is a symlink of another user',
      root: true,
      setup: (t) => {
        symlinkSync(privateDir(path.join(t, 'real-parent')), path.join(t, 'via'));
        lchownSync(path.join(t, 'via'), OTHER_UID, OTHER_UID);
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'via', 'locks') };
      },
      mentions: (t) => `lies under ${path.join(t, 'via')}, a symlink that belongs to uid ${OTHER_UID}`,
    },
    {
      name: 'a parent every user may write to, without the sticky bit',
      setup: (t) => {
        chmodSync(privateDir(path.join(t, 'open')), 0o777);
        return { LOCKSTEP_LOCK_DIR: path.join(t, 'open', 'locks') };
      },
      mentions: (t) => `lies under ${path.join(t, 'open')}, which every user may write to without the sticky bit`,
    },
  ];

  for (const c of cases) {
    (c.root && !isRoot ? it.skip : it)(`refuses ${c.name}`, () => {
      const env = c.setup(tmp());
      expectUnsafe(refusal(() => resolveLockDir(env)), c.mentions(tmp()));
    });
  }

  it('writes nothing through a refused symlink', () => {
    const mine = privateDir(path.join(tmp(), 'mine'));
    symlinkSync(mine, path.join(tmp(), 'link'));
    refusal(() => resolveLockDir({ LOCKSTEP_LOCK_DIR: path.join(tmp(), 'link') }));
    expect(readdirSync(mine)).toEqual([]);
  });
});

describe('resolveLockDir accepts a private directory', () => {
  const tmp = useTempDir();

  it('creates it 0700, with missing parents', () => {
    const dir = path.join(tmp(), 'a', 'b', 'locks');
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.dirname(dir)).mode & 0o777).toBe(0o700);
  });

  it('reuses an existing one as it is', () => {
    const dir = privateDir(path.join(tmp(), 'locks'));
    writeFileSync(path.join(dir, 'keep'), 'x');
    const before = lstatSync(dir);
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })).toBe(dir);
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })).toBe(dir);
    expect(lstatSync(dir).ino).toBe(before.ino);
    expect(readFileSync(path.join(dir, 'keep'), 'utf8')).toBe('x');
  });

  it('accepts 0755 (others may read, not write)', () => {
    const dir = privateDir(path.join(tmp(), 'locks'));
    chmodSync(dir, 0o755);
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })).toBe(dir);
  });

  it('uses $XDG_RUNTIME_DIR/lockstep, and ignores a relative XDG_RUNTIME_DIR', () => {
    const xdg = privateDir(path.join(tmp(), 'run-user'));
    expect(resolveLockDir({ XDG_RUNTIME_DIR: xdg })).toBe(path.join(xdg, 'lockstep'));
    expect(statSync(path.join(xdg, 'lockstep')).mode & 0o777).toBe(0o700);
    const tmpdir = jest.spyOn(require('os') as typeof import('os'), 'tmpdir').mockReturnValue(tmp());
    try {
      expect(resolveLockDir({ XDG_RUNTIME_DIR: 'run/user' })).toBe(path.join(tmp(), `lockstep-${process.getuid!()}`));
    } finally {
      tmpdir.mockRestore();
    }
  });

  it('defaults to <tmpdir>/lockstep-<uid>', () => {
    const tmpdir = jest.spyOn(require('os') as typeof import('os'), 'tmpdir').mockReturnValue(tmp());
    try {
      const dir = resolveLockDir({});
      expect(dir).toBe(path.join(tmp(), `lockstep-${process.getuid!()}`));
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } finally {
      tmpdir.mockRestore();
    }
  });

  it('follows a symlinked parent of ours and returns the real path', () => {
    const real = privateDir(path.join(tmp(), 'real-parent'));
    symlinkSync(real, path.join(tmp(), 'via'));
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: path.join(tmp(), 'via', 'locks') })).toBe(path.join(real, 'locks'));
  });

  it('accepts a parent every user may write to if it has the sticky bit (like /tmp)', () => {
    const open = privateDir(path.join(tmp(), 'sticky'));
    chmodSync(open, 0o1777);
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: path.join(open, 'locks') })).toBe(path.join(open, 'locks'));
  });
});

describe('a lock directory swapped after it was checked', () => {
  const tmp = useTempDir();

  it('is refused when replaced by another directory (device + inode changed)', () => {
    const dir = path.join(tmp(), 'locks');
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })).toBe(dir);
    renameSync(dir, path.join(tmp(), 'moved'));
    privateDir(dir);
    expectUnsafe(refusal(() => resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })), `${dir} was replaced while this process was using it`);
    expectUnsafe(refusal(() => verifyLockDir(dir)), 'was replaced');
  });

  it('is refused when replaced by a symlink, even to the same directory', () => {
    const dir = path.join(tmp(), 'locks');
    resolveLockDir({ LOCKSTEP_LOCK_DIR: dir });
    renameSync(dir, path.join(tmp(), 'moved'));
    symlinkSync(path.join(tmp(), 'moved'), dir);
    expectUnsafe(refusal(() => resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })), /now it is a symlink to/);
  });

  it('is refused when opened up to others after the check', () => {
    const dir = path.join(tmp(), 'locks');
    resolveLockDir({ LOCKSTEP_LOCK_DIR: dir });
    chmodSync(dir, 0o777);
    expectUnsafe(refusal(() => verifyLockDir(dir)), /mode 777/);
  });

  it('is checked and created anew when it was removed', () => {
    const dir = path.join(tmp(), 'locks');
    resolveLockDir({ LOCKSTEP_LOCK_DIR: dir });
    rmSync(dir, { recursive: true });
    expect(resolveLockDir({ LOCKSTEP_LOCK_DIR: dir })).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    rmSync(dir, { recursive: true });
    verifyLockDir(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
  });

  it('leaves a directory resolveLockDir never returned alone', () => {
    const dir = path.join(tmp(), 'explicit');
    mkdirSync(dir, { mode: 0o777 });
    expect(() => verifyLockDir(dir)).not.toThrow();
  });

  it('fails acquireLock and a kept local lease backend with ELOCKDIRUNSAFE', async () => {
    const dir = resolveLockDir({ LOCKSTEP_LOCK_DIR: path.join(tmp(), 'locks') });
    const leases = new LocalLeaseBackend({ lockDir: dir });
    const resource = parseResource('group:swap');
    await leases.acquire(resource, { owner: 'me', ttlMs: 60_000 });
    await leases.release(resource, { owner: 'me' });
    await (await acquireLock('path:/swap', { lockDir: dir })).release();
    renameSync(dir, path.join(tmp(), 'moved'));
    symlinkSync(privateDir(path.join(tmp(), 'theirs')), dir);
    await expect(acquireLock('path:/swap', { lockDir: dir })).rejects.toMatchObject({ code: 'ELOCKDIRUNSAFE' });
    await expect(leases.acquire(resource, { owner: 'me', ttlMs: 60_000 })).rejects.toMatchObject({ code: 'ELOCKDIRUNSAFE' });
    expect(readdirSync(path.join(tmp(), 'theirs'))).toEqual([]);
  });
});

// Two real processes: the fixtures load packages/core/dist (npm run build first).
describe('lock directory under a re-pointing attacker (real processes)', () => {
  const tmp = useTempDir();
  const KEY = 'path:/race/lockdir';

  it('refuses all 200 lock and 200 lease acquires while another process keeps re-pointing LOCKSTEP_LOCK_DIR between two private directories (200 rounds each, nothing written)', async () => {
    const a = privateDir(path.join(tmp(), 'a'));
    const b = privateDir(path.join(tmp(), 'b'));
    const link = path.join(tmp(), 'lockdir');
    symlinkSync(a, link);
    const attacker = new Worker<LockDirAttacker>(ATTACKER);
    const victim = new Worker<LockDirVictim>(VICTIM, [], { ...process.env, LOCKSTEP_LOCK_DIR: link });
    try {
      await victim.whenReady();
      await attacker.request({ op: 'repoint', link, targets: [a, b] });
      let before = 0;
      await waitFor(async () => (before = (await attacker.request({ op: 'count' })).swaps ?? 0) >= 100, {
        timeoutMs: WAIT_MS,
        what: () => `the attacker to re-point the symlink 100 times (${before} so far)`,
      });
      const locks = await victim.request({ op: 'rounds', rounds: 200, kind: 'lock', key: KEY });
      const leases = await victim.request({ op: 'rounds', rounds: 200, kind: 'lease' });
      const { swaps } = await attacker.request({ op: 'stop' });
      expect(swaps).toBeGreaterThan(before); // it kept re-pointing while the victim ran
      for (const { outcomes } of [locks, leases]) {
        expect(outcomes).toHaveLength(200);
        expect(outcomes.filter((o) => o !== 'ELOCKDIRUNSAFE')).toEqual([]);
      }
      expect(readdirSync(a)).toEqual([]);
      expect(readdirSync(b)).toEqual([]);
    } finally {
      await Promise.all([attacker.stop(), victim.stop()]);
    }
  }, 60_000);

  for (const replacement of ['symlink', 'dir'] as const) {
    it(`fails the next acquire when the real lock directory is swapped for ${replacement === 'symlink' ? 'a symlink' : 'another directory'} mid-run (10 rounds ok, then 10 refused, for locks and leases)`, async () => {
      const dir = path.join(tmp(), 'locks');
      const theirs = privateDir(path.join(tmp(), 'theirs'));
      const attacker = new Worker<LockDirAttacker>(ATTACKER);
      const victim = new Worker<LockDirVictim>(VICTIM, [], { ...process.env, LOCKSTEP_LOCK_DIR: dir });
      try {
        for (const kind of ['lock', 'lease'] as const) {
          const { outcomes } = await victim.request({ op: 'rounds', rounds: 10, kind, key: KEY });
          expect(outcomes).toEqual(Array(10).fill('ok'));
        }
        await attacker.request({ op: 'swap', dir, movedTo: path.join(tmp(), 'moved'), replacement, target: theirs });
        for (const kind of ['lock', 'lease'] as const) {
          const { outcomes } = await victim.request({ op: 'rounds', rounds: 10, kind, key: KEY });
          expect(outcomes).toEqual(Array(10).fill('ELOCKDIRUNSAFE'));
        }
        expect(readdirSync(replacement === 'symlink' ? theirs : dir)).toEqual([]);
      } finally {
        await Promise.all([attacker.stop(), victim.stop()]);
      }
    }, 60_000);
  }

  it('once the lock directory is swapped for a symlink while the victim loops, no acquire succeeds again (20 refusals in a row)', async () => {
    const dir = path.join(tmp(), 'locks');
    const theirs = privateDir(path.join(tmp(), 'theirs'));
    const progress = path.join(tmp(), 'progress');
    const attacker = new Worker<LockDirAttacker>(ATTACKER);
    const victim = new Worker<LockDirVictim>(VICTIM, [], { ...process.env, LOCKSTEP_LOCK_DIR: dir });
    try {
      await attacker.whenReady();
      const done = victim.request({ op: 'rounds', rounds: 5000, kind: 'lock', key: KEY, holdMs: 2, progressFile: progress, stopAfterRefusals: 20 });
      await waitFor(() => {
        try {
          return Number(readFileSync(progress, 'utf8')) >= 20;
        } catch {
          return false;
        }
      }, { timeoutMs: WAIT_MS, what: 'the victim to finish 20 rounds' });
      await attacker.request({ op: 'swap', dir, movedTo: path.join(tmp(), 'moved'), replacement: 'symlink', target: theirs });
      const { outcomes } = await done;
      const first = outcomes.indexOf('ELOCKDIRUNSAFE');
      expect(first).toBeGreaterThanOrEqual(20);
      // A round holding the lock as the swap came may report its release; none after it acquires.
      expect(outcomes.slice(0, first).filter((o) => !o.startsWith('ok'))).toEqual([]);
      expect(outcomes.slice(first)).toEqual(Array(outcomes.length - first).fill('ELOCKDIRUNSAFE'));
      expect(outcomes.length - first).toBe(20);
    } finally {
      await Promise.all([attacker.stop(), victim.stop()]);
    }
  }, 60_000);
});
