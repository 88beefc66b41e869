/**
 * A staged release against a REAL Verdaccio 6.8 behind the fault proxy, whose
 * front (tools/registry/staging.js) speaks npm's staging endpoints: an
 * approved stage becomes a real publish on Verdaccio.
 */
import { integrityOf } from '../registry/integrity';
import { createRegistryClient, type RegistryClient } from '../registry/registry-client';
import { packTiny, useStagingRegistry } from '../test-utils/registry';
import { approveStaged, type StagedVersion } from './approve';

jest.setTimeout(120_000);

const OTP = '135790';
const reg = useStagingRegistry('lockstep-stage-', OTP);

const client = (): Promise<RegistryClient> => createRegistryClient({ cwd: reg.t.workspace, env: reg.t.env, baseMs: 20 });

/** 12 packages in 4 levels: level n+1 depends on two of level n. */
async function stageTwelve(c: RegistryClient, scope: string): Promise<StagedVersion[]> {
  const specs = Array.from({ length: 12 }, (_, i) => {
    const level = Math.floor(i / 3);
    const deps = level === 0 ? [] : [`@${scope}/l${level - 1}p${i % 3}`, `@${scope}/l${level - 1}p${(i + 1) % 3}`];
    return { name: `@${scope}/l${level}p${i % 3}`, deps };
  });
  // Staging needs no order: all at once.
  return Promise.all(
    specs.map(async ({ name, deps }) => {
      const { manifest, tarball } = await packTiny(reg.scratch, name, '1.0.0');
      const stageId = await c.stage(manifest, tarball);
      return { name, version: '1.0.0', integrity: integrityOf(tarball), stageId, deps };
    }),
  );
}

describe('staged release (real Verdaccio behind npm staging endpoints)', () => {
  it('12 packages staged at once (nothing live), then approved with one OTP in dependency order: every version live once, with the staged integrity', async () => {
    const c = await client();
    const staged = await stageTwelve(c, 'stg');
    expect(new Set(staged.map((s) => s.stageId)).size).toBe(12);
    for (const s of staged) expect(await c.getPublished(s.name, s.version)).toBeUndefined();

    const approved = new Set<string>();
    await approveStaged(staged, c, { isApproved: (n) => approved.has(n), markApproved: async (n) => void approved.add(n) }, { otp: OTP, verifyTimeoutMs: 60_000 });
    const order = reg.front.approvals.filter((a) => a.name.startsWith('@stg/')).map((a) => a.name);
    expect([...order].sort()).toEqual(staged.map((s) => s.name).sort());
    for (const s of staged) {
      for (const dep of s.deps) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(s.name));
      expect((await c.getPublished(s.name, s.version))?.integrity).toBe(s.integrity);
    }

    // Approving again (a resumed run with its records lost): nothing is approved twice.
    const before = reg.front.approvals.length;
    await approveStaged(staged, c, { isApproved: () => false, markApproved: async () => undefined }, { otp: OTP, verifyTimeoutMs: 60_000 });
    expect(reg.front.approvals.length).toBe(before);
  });

  it('reject withdraws every staged version: nothing goes live, a second reject finds them gone', async () => {
    const c = await client();
    const staged = await stageTwelve(c, 'rej');
    for (const s of staged) expect(await c.rejectStage(s.name, s.stageId, OTP)).toBe('rejected');
    for (const s of staged) expect(await c.rejectStage(s.name, s.stageId, OTP)).toBe('gone');
    for (const s of staged) expect(await c.getPublished(s.name, s.version)).toBeUndefined();
    expect(reg.front.approvals.filter((a) => a.name.startsWith('@rej/'))).toEqual([]);
  });
});
