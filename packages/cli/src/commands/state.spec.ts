import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openJournal } from '@lockstep/core';
import { main } from '../main';

describe('lockstep state', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const io = () => ({ out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), cwd: dir });
  const journalDir = () => path.join(dir, 'cache', 'lockstep', 'publish', 'publish');

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-state-'));
    out = [];
    err = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function recordRun() {
    const { journal } = await openJournal(journalDir(), {
      runId: 'host:1:1',
      sha: 'a'.repeat(40),
      target: 'publish',
      registry: 'http://127.0.0.1:4873/',
      packages: [
        { name: '@demo/utils', version: '1.0.0' },
        { name: '@demo/ui', version: '1.0.0' },
      ],
      resume: 'auto',
    });
    await journal.transition('@demo/utils', 'packing');
    await journal.transition('@demo/utils', 'publishing');
    await journal.transition('@demo/utils', 'failed', { error: { code: 'EREGISTRY', message: 'HTTP 503 after 3 retries' } });
  }

  it('shows the run and every package state, as text and JSON', async () => {
    await recordRun();
    expect(await main(['state', 'show', '--cache-dir', 'cache'], io())).toBe(0);
    expect(out[0]).toMatch(/Run host:1:1 of commit aaaaaaaaaaaa: running/);
    expect(out[0]).toMatch(/failed\s+@demo\/utils@1.0.0 \(1 attempt\)\s+\[EREGISTRY\] HTTP 503 after 3 retries/);
    expect(out[0]).toMatch(/pending\s+@demo\/ui@1.0.0/);
    out = [];
    expect(await main(['state', 'show', '--cache-dir', 'cache', '--json'], io())).toBe(0);
    const json = JSON.parse(out[0]);
    expect(json).toMatchObject({ schema_version: 1, ok: true, data: { run: { status: 'running' }, packages: [{ name: '@demo/utils', status: 'failed' }, { name: '@demo/ui', status: 'pending' }] } });
  });

  it('reports a corrupt journal file by name with exit 1', async () => {
    await recordRun();
    const recordDir = path.join(journalDir(), 'packages');
    const file = path.join(recordDir, readdirSync(recordDir).find((f) => f.endsWith('.json'))!);
    writeFileSync(file, '{torn');
    expect(await main(['state', 'show', '--cache-dir', 'cache'], io())).toBe(1);
    expect(err.join('\n')).toContain('EJOURNALCORRUPT');
    expect(err.join('\n')).toContain(path.basename(file));
  });

  it('clears the journal so the next run starts fresh', async () => {
    await recordRun();
    expect(await main(['state', 'clear', '--cache-dir', 'cache'], io())).toBe(0);
    expect(out[0]).toMatch(/Cleared the publish journal/);
    out = [];
    expect(await main(['state', 'show', '--cache-dir', 'cache'], io())).toBe(0);
    expect(out[0]).toMatch(/No publish run recorded/);
  });

  it('refuses a target name that is not one', async () => {
    expect(await main(['state', 'show', '--target', '../../etc', '--cache-dir', 'cache'], io())).toBe(2);
  });
});
