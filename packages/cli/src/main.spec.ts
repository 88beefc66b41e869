import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { acquireLock } from '@lockstep/core';
import { main } from './main';

describe('lockstep CLI', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const io = () => ({ out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), cwd: dir });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-'));
    mkdirSync(path.join(dir, 'locks'), { mode: 0o700 });
    mkdirSync(path.join(dir, 'out'));
    process.env.LOCKSTEP_LOCK_DIR = path.join(dir, 'locks');
    out = [];
    err = [];
  });
  afterEach(() => {
    delete process.env.LOCKSTEP_LOCK_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the holder of a path lock, as text and as JSON', async () => {
    const lock = await acquireLock(`path:${path.join(dir, 'out')}`, { command: 'nx run app:gen' });
    expect(await main(['lock', 'status', '--resource', 'path:out'], io())).toBe(0);
    expect(out[0]).toMatch(/: alive, held by pid \d+ .*nx run app:gen/);
    out = [];
    expect(await main(['lock', 'status', '--resource', 'path:out', '--json'], io())).toBe(0);
    const json = JSON.parse(out[0]);
    expect(json).toMatchObject({ schema_version: 1, ok: true, data: { state: 'alive', holder: { command: 'nx run app:gen' }, queue: [] } });
    expect(JSON.stringify(json)).not.toContain('token');
    await lock.release();
  });

  it('exits 2 with a hint for usage errors', async () => {
    expect(await main(['lock', 'status'], io())).toBe(2);
    expect(err.join('\n')).toMatch(/EBADOPTIONS[\s\S]*Hint:/);
    expect(await main(['lock', 'status', '--resource', 'moon:x'], io())).toBe(2);
    expect(await main(['frobnicate'], io())).toBe(2);
    expect(await main(['--bogus'], io())).toBe(2);
  });

  it('runs as the lockstep binary', () => {
    const bin = path.join(__dirname, '..', 'dist', 'bin.js');
    expect(execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })).toContain('lock status');
    const result = spawnSync(process.execPath, [bin, 'lock', 'status', '--resource', 'path:out', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, data: { state: 'free' } });
  });
});
