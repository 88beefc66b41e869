/**
 * Cached generate targets with the real nx: Nx caches a stash beside outDir
 * (the inferred `<target>--stash`), and `<target>` brings outDir up to date
 * from it under outDir's lock, on cache hits too. Readers of outDir never see
 * a torn, empty or missing file while Nx restores, and no cache entry mixes
 * two runs.
 */
import * as fs from 'fs';
import { ReaderTally, findLeftovers } from '../../../tools/scripts/sample-workspace';
import { TempWorkspace } from './utils/temp-workspace';
import { COUNT, PROJECTS, SETUP_MS, alternate, expectCleanTally, stashWorkspace, startReaders } from './utils/stash-workspace';

// Dozens of nx invocations per test on a busy 2-core machine.
jest.setTimeout(600_000);

describe('a generate target with "stash" (the @lockstep/nx plugin infers its hold and stash targets)', () => {
  let ws: TempWorkspace;
  beforeAll(async () => {
    ws = await stashWorkspace('stash-restores');
  }, SETUP_MS);
  afterAll(() => ws?.remove());

  // 5 × 5 restores without the daemon and 5 × 5 with it: 50 restores under the reader in all (LOCKSTEP_E2E_RESTORE_ROUNDS for more).
  const ROUNDS = Number(process.env.LOCKSTEP_E2E_RESTORE_ROUNDS ?? 5);

  /** ROUNDS more invocations (each a cache hit of every project) while a reader sweeps every outDir: nothing torn, empty or missing, nothing left over. */
  async function restoresUnderReader(env?: Record<string, string>): Promise<void> {
    const reader = await startReaders(ws);
    let tally: ReaderTally;
    let hits: number;
    try {
      ({ hits } = await alternate(ws, ROUNDS, env));
    } finally {
      tally = await reader.stop();
    }
    expect(hits).toBe(ROUNDS * PROJECTS);
    expectCleanTally(tally);
    expect(tally.stamps.sort()).toEqual(['gen-a', 'gen-b']);
    expect(findLeftovers(ws.path('dist'))).toEqual([]);
  }

  it(`without the daemon: ${ROUNDS} × ${PROJECTS} cache hits, each rewriting all ${COUNT} files of an outDir, while a reader sweeps every outDir: 0 torn, 0 empty, 0 missing`, async () => {
    // The first two invocations generate; from then on every one is a cache hit of the other generation.
    expect((await alternate(ws, 2)).hits).toBe(0);
    await restoresUnderReader();
  });

  it(`with the daemon: ${ROUNDS} × ${PROJECTS} cache hits (the inputs alternate, so the stash on disk differs and Nx restores it), a reader sweeping every outDir: 0 torn, 0 empty, 0 missing`, async () => {
    // NX_DAEMON=true starts it even in a container; NX_DAEMON_SOCKET_DIR keeps it to this workspace.
    const env = { NX_DAEMON: 'true', NX_DAEMON_SOCKET_DIR: ws.scratch('daemon') };
    fs.mkdirSync(env.NX_DAEMON_SOCKET_DIR, { recursive: true });
    try {
      await alternate(ws, 2, env);
      await restoresUnderReader(env);
      // The daemon really ran these invocations.
      expect((await ws.nx(['daemon'], { env })).output).toContain('Nx Daemon is currently running');
    } finally {
      await ws.nx(['daemon', '--stop'], { env });
    }
  });
});
