import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { FakeRegistry } from './__fixtures__/fake-registry';
import { httpError } from './__fixtures__/errors';
import { loadNpmConfig } from './npm-config';
import { createRegistryClient } from './registry-client';

const dir = useTempDir('lockstep-client-slot-');
const REGISTRY = 'http://127.0.0.1:4873/';

describe('createRegistryClient: an upload waiting between attempts holds no slot', () => {
  it('gives the slot back for the Retry-After wait and takes it again before the next attempt', async () => {
    const root = mkdtempSync(path.join(dir(), 'case-'));
    mkdirSync(path.join(root, 'repo'));
    writeFileSync(path.join(root, 'repo', '.npmrc'), `registry=${REGISTRY}\n//127.0.0.1:4873/:_authToken=tok\n`);
    const config = await loadNpmConfig({ cwd: path.join(root, 'repo'), env: { HOME: root, NPM_CONFIG_GLOBALCONFIG: path.join(root, 'none') } });
    const fake = new FakeRegistry();
    const events: string[] = [];
    const client = await createRegistryClient({
      cwd: path.join(root, 'repo'),
      config,
      transport: {
        fetch: (uri, options) => fake.fetch(uri, options),
        publish: (manifest, tarball, options) => {
          events.push('upload');
          return fake.publish(manifest, tarball, options);
        },
      },
      sleep: async (ms) => void events.push(`sleep ${ms}`),
      random: () => 0.5,
    });
    fake.fail('publish', httpError(429, { headers: { 'retry-after': '1' } }));
    fake.fail('publish', httpError(503, { headers: { 'retry-after': '1' } }));
    const slot = { release: () => void events.push('release'), acquire: async () => void events.push('acquire') };
    await expect(client.publish({ name: 'x', version: '1.0.0' }, Buffer.from('bytes'), { precheck: false, slot })).resolves.toBe('published');
    expect(events).toEqual(['upload', 'release', 'sleep 1000', 'acquire', 'upload', 'release', 'sleep 1000', 'acquire', 'upload']);
  });
});
