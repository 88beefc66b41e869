import * as path from 'path';
import { normalizeGenerateOptions } from './normalize-options';

const ctx = (env: NodeJS.ProcessEnv = {}) => ({ root: '/ws', projectName: 'app', projectRoot: 'apps/app', env });

describe('normalizeGenerateOptions', () => {
  it('resolves outDir against the workspace root and applies defaults', () => {
    expect(normalizeGenerateOptions({ outDir: 'dist/gen/app', generator: 'tools/gen.js' }, ctx())).toEqual({
      outDir: path.resolve('/ws/dist/gen/app'),
      outDirDisplay: path.join('dist', 'gen', 'app'),
      producer: { kind: 'module', specifier: 'tools/gen.js' },
      prune: true,
      phase: 'direct',
      allowOutsideWorkspace: false,
      lockTimeoutMs: 15 * 60_000,
      noLock: false,
      workspaceRoot: '/ws',
      projectRoot: 'apps/app',
      projectName: 'app',
    });
  });

  it('takes the lock timeout from LOCKSTEP_LOCK_TIMEOUT_MS, the option winning over it', () => {
    expect(normalizeGenerateOptions({ outDir: 'o', command: 'x' }, ctx({ LOCKSTEP_LOCK_TIMEOUT_MS: '500' })).lockTimeoutMs).toBe(500);
    expect(normalizeGenerateOptions({ outDir: 'o', command: 'x', lockTimeoutMs: 7 }, ctx({ LOCKSTEP_LOCK_TIMEOUT_MS: '500' })).lockTimeoutMs).toBe(7);
  });

  it('opts out of the lock with LOCKSTEP_NO_LOCK=1', () => {
    expect(normalizeGenerateOptions({ outDir: 'o', command: 'x' }, ctx({ LOCKSTEP_NO_LOCK: '1' })).noLock).toBe(true);
  });

  it.each([
    [{ generator: 'g.js' }, /needs an outDir/],
    [{ outDir: 'o' }, /needs a generator or a command/],
    [{ outDir: 'o', generator: 'g.js', command: 'x' }, /either generator or command/],
    [{ outDir: 'o', command: 'x', prune: 'yes' }, /prune must be true, false or "all"/],
    [{ outDir: 'o', command: 'x', allowOutsideWorkspace: 'yes' }, /allowOutsideWorkspace must be true or false/],
    [{ outDir: 'o', command: 'x', lockTimeoutMs: -1 }, /lockTimeoutMs/],
  ])('refuses %j with EBADOPTIONS and a hint', (options, message) => {
    let error: any;
    try {
      normalizeGenerateOptions(options as never, ctx());
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'EBADOPTIONS', message: expect.stringMatching(message), hint: expect.any(String) });
  });

  it('refuses a malformed LOCKSTEP_LOCK_TIMEOUT_MS', () => {
    expect(() => normalizeGenerateOptions({ outDir: 'o', command: 'x' }, ctx({ LOCKSTEP_LOCK_TIMEOUT_MS: '10m' }))).toThrow(/LOCKSTEP_LOCK_TIMEOUT_MS/);
  });

  it('takes prune: "all" and allowOutsideWorkspace as given (where outDir leads is checked on real paths by runGenerate)', () => {
    expect(normalizeGenerateOptions({ outDir: 'o', command: 'x', prune: 'all', allowOutsideWorkspace: true }, ctx())).toMatchObject({ prune: 'all', allowOutsideWorkspace: true });
  });

  it('allows an outDir inside the project root', () => {
    expect(normalizeGenerateOptions({ outDir: 'apps/app/generated', command: 'x' }, ctx()).outDirDisplay).toBe(path.join('apps', 'app', 'generated'));
  });

  it('stash: true is a hidden sibling of outDir, a string is that directory; the phase is sync unless the (inferred) target says hold or stash', () => {
    expect(normalizeGenerateOptions({ outDir: 'dist/gen/app', command: 'x', stash: true }, ctx())).toMatchObject({ phase: 'sync', stashDir: path.resolve('/ws/dist/gen/.app.lockstep-stash') });
    expect(normalizeGenerateOptions({ outDir: 'o', command: 'x', stash: 'tmp/s', phase: 'stash' }, ctx())).toMatchObject({ phase: 'stash', stashDir: path.resolve('/ws/tmp/s') });
    expect(normalizeGenerateOptions({ outDir: 'o', command: 'x', stash: false }, ctx())).toMatchObject({ phase: 'direct' });
  });

  it.each([
    [{ stash: 3 }, /stash must be true, false or a workspace-relative directory, not 3/],
    [{ stash: true, phase: 'sync' }, /phase must be "hold" or "stash", not "sync"/],
    [{ phase: 'hold' }, /phase "hold" needs "stash"/],
  ])('refuses %j with EBADOPTIONS', (extra, message) => {
    let error: unknown;
    try {
      normalizeGenerateOptions({ outDir: 'o', command: 'x', ...(extra as object) }, ctx());
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'EBADOPTIONS', message: expect.stringMatching(message), hint: expect.stringMatching(/\S/) });
  });
});
