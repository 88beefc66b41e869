/**
 * A staged run end to end in core, against a REAL Verdaccio behind npm's
 * staging endpoints (tools/registry/staging.js): publishPackages with
 * stage: true records the stage ids in a real journal, approveStagedRun
 * approves them from that journal in dependency order with one OTP (asked
 * once), a second approval approves nothing, rejectStagedRun withdraws a run.
 */
import * as path from 'path';
import { openJournal } from '../journal/open-journal';
import { readJournal } from '../journal/read-journal';
import { publishPackages } from '../publish/publish-packages';
import type { ReleasePackage } from '../publish/types';
import { integrityOf } from '../registry/integrity';
import { createRegistryClient, type RegistryClient } from '../registry/registry-client';
import { packTiny, useStagingRegistry } from '../test-utils/registry';
import { approveStagedRun, rejectStagedRun } from './staged-run';

jest.setTimeout(180_000);

const OTP = '246802';
const reg = useStagingRegistry('lockstep-staged-run-', OTP);

const client = (): Promise<RegistryClient> => createRegistryClient({ cwd: reg.t.workspace, env: reg.t.env, baseMs: 20 });

/** 12 packages in 4 levels: level n+1 depends on two of level n. */
function twelve(scope: string): ReleasePackage[] {
  return Array.from({ length: 12 }, (_, i) => {
    const level = Math.floor(i / 3);
    const internalDeps = level === 0 ? [] : [`@${scope}/l${level - 1}p${i % 3}`, `@${scope}/l${level - 1}p${(i + 1) % 3}`];
    return { name: `@${scope}/l${level}p${i % 3}`, version: '1.0.0', dir: reg.scratch, private: false, internalDeps };
  });
}

/** A staged run of `packages` with a real journal in `dir`; returns the summary. */
async function stageRun(dir: string, packages: ReleasePackage[], c: RegistryClient) {
  const { journal } = await openJournal(dir, { runId: `run-${path.basename(dir)}`, sha: 'abc123', target: 'publish', registry: c.config.registry, packages, resume: 'auto' });
  const summary = await publishPackages({
    packages,
    workspaceVersions: new Map(),
    pack: async (p) => {
      const { manifest, tarball } = await packTiny(reg.scratch, p.name, p.version);
      return { manifest, tarball, integrity: integrityOf(tarball) };
    },
    registry: {
      registry: c.config.registry,
      getPublished: (n, v) => c.getPublished(n, v),
      publish: () => Promise.reject(new Error('a staged run publishes nothing')),
      ensureDistTag: () => Promise.resolve(false),
      waitUntilVisible: (n, v, i, o) => c.waitUntilVisible(n, v, i, o),
      stage: (m, tarball, o) => c.stage(m as Record<string, unknown> & { name: string; version: string }, tarball, o),
    },
    journal,
    tag: 'latest',
    maxConcurrency: 12,
    verifyTimeoutMs: 60_000,
    stage: true,
    log: () => undefined,
    redact: (s) => s,
  });
  if (summary.ok) await journal.finish('done');
  return summary;
}

describe('staged run from the journal (real Verdaccio behind npm staging endpoints)', () => {
  it('stage: true stages 12 packages (nothing live, stage ids in journal and summary); approve publishes them in dependency order with one OTP asked once; a second approve approves nothing', async () => {
    const c = await client();
    const dir = path.join(reg.scratch, 'journal-app');
    const packages = twelve('app');
    const summary = await stageRun(dir, packages, c);
    expect(summary).toMatchObject({ ok: true, stage: true, counts: { staged: 12, published: 0 } });
    for (const p of packages) expect(await c.getPublished(p.name, p.version)).toBeUndefined();
    const records = (await readJournal(dir))!.packages;
    expect(records.map((r) => r.status)).toEqual(Array(12).fill('staged'));
    expect(new Set(records.map((r) => r.stageId)).size).toBe(12);
    expect(summary.packages.map((p) => p.stageId).sort()).toEqual(records.map((r) => r.stageId).sort());

    let asked = 0;
    const askOtp = async () => (asked++, OTP);
    const result = await approveStagedRun({ dir, client: c, askOtp, verifyTimeoutMs: 60_000, log: () => undefined });
    expect(asked).toBe(1);
    expect(result.packages.map((p) => p.outcome)).toEqual(Array(12).fill('approved'));
    const order = reg.front.approvals.filter((a) => a.name.startsWith('@app/')).map((a) => a.name);
    expect([...order].sort()).toEqual(packages.map((p) => p.name).sort());
    for (const p of packages) {
      for (const dep of p.internalDeps) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(p.name));
      const record = records.find((r) => r.name === p.name)!;
      expect((await c.getPublished(p.name, p.version))?.integrity).toBe(record.integrity);
    }
    expect((await readJournal(dir))!.packages.map((r) => r.status)).toEqual(Array(12).fill('published'));

    const before = reg.front.approvals.length;
    const again = await approveStagedRun({ dir, client: c, otp: OTP, verifyTimeoutMs: 60_000, log: () => undefined });
    expect(again.packages.map((p) => p.outcome)).toEqual(Array(12).fill('already-live'));
    expect(reg.front.approvals.length).toBe(before);
  });

  it('approve without an OTP and no terminal fails with EOTP and approves nothing', async () => {
    const c = await client();
    const dir = path.join(reg.scratch, 'journal-otp');
    await stageRun(dir, twelve('otp'), c);
    await expect(approveStagedRun({ dir, client: c, askOtp: async () => undefined, verifyTimeoutMs: 60_000, log: () => undefined })).rejects.toMatchObject({ code: expect.stringMatching(/EOTP|EAUTH/) });
    expect(reg.front.approvals.filter((a) => a.name.startsWith('@otp/'))).toEqual([]);
  });

  it('reject withdraws the run: nothing live, records failed with EREJECTED, approve then refuses with ENOTSTAGED', async () => {
    const c = await client();
    const dir = path.join(reg.scratch, 'journal-rej');
    const packages = twelve('rejrun');
    await stageRun(dir, packages, c);
    const result = await rejectStagedRun({ dir, client: c, otp: OTP, verifyTimeoutMs: 60_000, log: () => undefined });
    expect(result.packages.map((p) => p.outcome)).toEqual(Array(12).fill('rejected'));
    for (const p of packages) expect(await c.getPublished(p.name, p.version)).toBeUndefined();
    const snapshot = (await readJournal(dir))!;
    expect(snapshot.run.status).toBe('failed');
    expect(snapshot.packages.map((r) => r.error?.code)).toEqual(Array(12).fill('EREJECTED'));
    await expect(approveStagedRun({ dir, client: c, otp: OTP, verifyTimeoutMs: 60_000, log: () => undefined })).rejects.toMatchObject({ code: 'ENOTSTAGED' });
    expect(reg.front.approvals.filter((a) => a.name.startsWith('@rejrun/'))).toEqual([]);
  });
});
