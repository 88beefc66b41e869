import { ErrorCodes } from '../errors';
import { expectLockstepError } from '../test-utils/lockstep-error';
import { approveStaged, type StagePort, type StagedVersion } from './approve';

/** A registry's stage in memory: approving makes a version live (visible at once). */
function fakeStage(entries: StagedVersion[]) {
  const live = new Map<string, string>();
  const stages = new Map(entries.map((e) => [e.stageId, e]));
  const calls: string[] = [];
  const port: StagePort = {
    async getPublished(name) {
      const integrity = live.get(name);
      return integrity ? { integrity } : undefined;
    },
    async approveStage(_name, id, otp) {
      calls.push(`approve ${stages.get(id)?.name ?? id} otp=${otp}`);
      const entry = stages.get(id);
      if (!entry) return 'gone';
      for (const dep of entry.deps) if (!live.has(dep)) throw new Error(`${entry.name} approved before ${dep} was live`);
      stages.delete(id);
      live.set(entry.name, entry.integrity);
      return 'approved';
    },
    async waitUntilVisible(name, _version, integrity) {
      if (live.get(name) !== integrity) throw new Error(`${name} not visible`);
    },
  };
  return { port, live, stages, calls };
}

const entry = (name: string, deps: string[] = []): StagedVersion => ({ name, version: '1.0.0', integrity: `sha512-${name}`, stageId: `id-${name}`, deps });
const run = () => [entry('a'), entry('b', ['a']), entry('c', ['a']), entry('d', ['b', 'c'])];

function memoryRecord(initial: string[] = []) {
  const approved = new Set(initial);
  return { approved, record: { isApproved: (n: string) => approved.has(n), markApproved: async (n: string) => void approved.add(n) } };
}

describe('approveStaged', () => {
  it('approves in dependency order with the one OTP, records each', async () => {
    const entries = run();
    const { port, calls } = fakeStage(entries);
    const { approved, record } = memoryRecord();
    const outcomes = await approveStaged(entries, port, record, { otp: '123456', verifyTimeoutMs: 1000 });
    expect([...outcomes.values()]).toEqual(['approved', 'approved', 'approved', 'approved']);
    expect(calls[0]).toBe('approve a otp=123456');
    expect(calls[3]).toBe('approve d otp=123456');
    expect([...approved].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('resumes: recorded or already live versions are not approved again; a gone stage whose version is live is fine', async () => {
    const entries = run();
    const { port, live, stages, calls } = fakeStage(entries);
    live.set('a', 'sha512-a');
    stages.delete('id-a');
    live.set('b', 'sha512-b'); // approved, record lost (SIGKILL)
    stages.delete('id-b');
    const { record } = memoryRecord(['a']);
    const outcomes = await approveStaged(entries, port, record, { verifyTimeoutMs: 1000 });
    expect(Object.fromEntries(outcomes)).toEqual({ a: 'already-live', b: 'already-live', c: 'approved', d: 'approved' });
    expect(calls).toEqual(['approve c otp=undefined', 'approve d otp=undefined']);
  });

  it('a version live with other content is EVERSIONEXISTS; a withdrawn stage is EREGISTRY', async () => {
    const entries = [entry('a')];
    const other = fakeStage(entries);
    other.live.set('a', 'sha512-other');
    await expectLockstepError(approveStaged(entries, other.port, memoryRecord().record, { verifyTimeoutMs: 1000 }), ErrorCodes.EVERSIONEXISTS, /live with other content/);
    const gone = fakeStage(entries);
    gone.stages.clear();
    await expectLockstepError(approveStaged(entries, gone.port, memoryRecord().record, { verifyTimeoutMs: 1000 }), ErrorCodes.EREGISTRY, /no longer has stage id-a/);
  });
});
