import { ErrorCodes, LockstepError } from '../errors';
import { preflightRun } from './preflight';
import { RegistryPort, ReleasePackage } from './types';

const pkg = (name: string): ReleasePackage => ({ name, version: '1.0.0', dir: `/ws/${name}`, private: false, internalDeps: [] });
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('preflightRun: the registry half does not wait for the local checks', () => {
  it('asks about the credentials while packages are still being checked locally, and still reports both halves', async () => {
    const events: string[] = [];
    const registry: RegistryPort = {
      registry: 'http://registry.test/',
      getPublished: async () => undefined,
      publish: async () => {
        throw new Error('preflight must never upload');
      },
      ensureDistTag: async () => false,
      waitUntilVisible: async () => undefined,
      checkCredentials: async (name) => {
        events.push(`credentials ${name}`);
        if (name === 'p0') throw Object.assign(new Error('bad token'), { code: 'EAUTH' });
      },
    };
    const report = await preflightRun({
      packages: Array.from({ length: 6 }, (_, i) => pkg(`p${i}`)),
      workspaceVersions: new Map(),
      concurrency: 2,
      registry,
      checkPack: async (p) => {
        events.push(`pack ${p.name}`);
        await tick();
        events.push(`packed ${p.name}`);
        return p.name === 'p5' ? [new LockstepError(ErrorCodes.EPACK, 'unreadable file')] : [];
      },
      redact: (t) => t,
    });
    expect(events.indexOf('credentials p0')).toBeLessThan(events.lastIndexOf('packed p5'));
    expect(report.problems.map((p) => p.subject).sort()).toEqual(['http://registry.test/', 'p5@1.0.0']);
  });
});
