import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readPackageManifest } from './read-manifest';

describe('readPackageManifest', () => {
  let dir: string;
  const write = (manifest: unknown) => writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lockstep-read-manifest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a release and a prerelease version, keeping publishConfig and the exact text', async () => {
    write({ name: '@s/a', version: '1.2.3-beta.1', publishConfig: { tag: 'next' } });
    const read = await readPackageManifest(dir);
    expect(read.manifest).toMatchObject({ name: '@s/a', version: '1.2.3-beta.1', publishConfig: { tag: 'next' } });
    expect(read.text).toBe(JSON.stringify({ name: '@s/a', version: '1.2.3-beta.1', publishConfig: { tag: 'next' } }));
  });

  it.each(['1.0.0+build.7', '1.2.3-beta.1+sha.abc123'])('refuses build metadata (%s): npm strips it, so the registry would hold another version (EBADMANIFEST with the plain version in the hint)', async (version) => {
    write({ name: '@s/a', version });
    const plain = version.slice(0, version.indexOf('+'));
    await expect(readPackageManifest(dir)).rejects.toMatchObject({
      code: 'EBADMANIFEST',
      message: expect.stringContaining(`the registry would get ${plain}, not ${version}`),
      hint: expect.stringContaining(`Publish "${plain}"`),
    });
  });

  it('an inexact version stays EPACK', async () => {
    write({ name: '@s/a', version: '^1.0.0' });
    await expect(readPackageManifest(dir)).rejects.toMatchObject({ code: 'EPACK', message: expect.stringContaining('not an exact semver version') });
  });
});
