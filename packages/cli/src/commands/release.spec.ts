/**
 * `lockstep release approve | reject` against a REAL Verdaccio behind npm's
 * staging endpoints (tools/registry/staging.js), from a journal as a staged
 * run (stage: true) leaves it.
 */
import * as path from 'path';
import { createRegistryClient, integrityOf, journalLocation, openJournal, readJournal } from '@lockstep/core';
import { packTiny, useStagingRegistry } from '../../../core/src/test-utils/registry';
import { main } from '../main';

jest.setTimeout(180_000);

const OTP = '975310';
const reg = useStagingRegistry('lockstep-cli-release-', OTP);

/** a ← b ← c staged, the journal as a staged run leaves it (levels 0, 1, 2). */
async function stagedRun(cacheDir: string, scope: string) {
  const c = await createRegistryClient({ cwd: reg.t.workspace, env: reg.t.env, baseMs: 20 });
  const names = ['a', 'b', 'c'].map((n) => `@${scope}/${n}`);
  const packages = names.map((name) => ({ name, version: '1.0.0' }));
  const { journal } = await openJournal(journalLocation(cacheDir, 'publish'), { runId: `run-${scope}`, sha: 'abc', target: 'publish', registry: c.config.registry, packages, resume: 'auto' });
  // Staged in reverse order: staging needs none.
  for (const [level, name] of [...names.entries()].reverse()) {
    const { manifest, tarball } = await packTiny(reg.scratch, name, '1.0.0');
    await journal.transition(name, 'packing', { level });
    await journal.transition(name, 'staging', { integrity: integrityOf(tarball) });
    await journal.transition(name, 'staged', { stageId: await c.stage(manifest, tarball) });
  }
  await journal.finish('done');
  return { names, c };
}

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => void out.push(s), err: (s) => void err.push(s), cwd: reg.t.workspace, env: reg.t.env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('lockstep release approve | reject (real Verdaccio behind npm staging endpoints)', () => {
  it('approve --otp --json: dependency order, every version live once, the OTP in no output; again: nothing approved', async () => {
    const cacheDir = path.join(reg.scratch, 'cache-approve');
    const { names, c } = await stagedRun(cacheDir, 'cliok');
    const first = await cli(['release', 'approve', '--cache-dir', cacheDir, '--otp', OTP, '--json']);
    expect(first.code).toBe(0);
    const data = JSON.parse(first.out).data;
    expect(data.packages.map((p: { name: string; outcome: string }) => `${p.name}:${p.outcome}`)).toEqual(names.map((n) => `${n}:approved`));
    expect(reg.front.approvals.filter((a) => a.name.startsWith('@cliok/')).map((a) => a.name)).toEqual(names);
    for (const n of names) expect(await c.getPublished(n, '1.0.0')).toBeDefined();
    expect(first.out + first.err).not.toContain(OTP);

    const again = await cli(['release', 'approve', '--cache-dir', cacheDir, '--otp', OTP]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('3 already-live');
    expect(reg.front.approvals.filter((a) => a.name.startsWith('@cliok/'))).toHaveLength(3);
    expect((await readJournal(journalLocation(cacheDir, 'publish')))!.packages.map((r) => r.status)).toEqual(['published', 'published', 'published']);
  });

  it('reject --json withdraws the staged versions; approve afterwards is ENOTSTAGED (exit 1)', async () => {
    const cacheDir = path.join(reg.scratch, 'cache-reject');
    const { names, c } = await stagedRun(cacheDir, 'clirej');
    const rejected = await cli(['release', 'reject', '--cache-dir', cacheDir, '--otp', OTP, '--json']);
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.out).data.packages.map((p: { outcome: string }) => p.outcome)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const n of names) expect(await c.getPublished(n, '1.0.0')).toBeUndefined();
    const approve = await cli(['release', 'approve', '--cache-dir', cacheDir, '--otp', OTP, '--json']);
    expect(approve.code).toBe(1);
    expect(JSON.parse(approve.out).error.code).toBe('ENOTSTAGED');
  });

  it('no journal at all: ENOTSTAGED with a hint', async () => {
    const r = await cli(['release', 'approve', '--cache-dir', path.join(reg.scratch, 'nothing')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[ENOTSTAGED]');
    expect(r.err).toContain('stage: true');
  });
});
