import { ErrorCodes, LockstepError } from '../errors';
import { createRedactor } from '../registry/redact';
import { PreflightError, PreflightOptions, preflightError, preflightRun } from './preflight';
import { RegistryPort, ReleasePackage } from './types';

const pkg = (name: string, internalDeps: string[] = [], extra: Partial<ReleasePackage> = {}): ReleasePackage => ({
  name,
  version: '1.0.0',
  dir: `/ws/packages/${name.replace(/^@s\//, '')}`,
  private: false,
  internalDeps,
  project: name.replace(/^@s\//, ''),
  ...extra,
});

/** A registry port that records what preflight asks; nothing is ever uploaded through it. */
function fakeRegistry(over: Partial<RegistryPort> & { published?: string[]; versions?: Record<string, string[]> } = {}) {
  const asked: string[] = [];
  const port: RegistryPort = {
    registry: 'http://registry.test/',
    async getPublished(name, version) {
      asked.push(`get ${name}@${version}`);
      return (over.published ?? []).includes(`${name}@${version}`) ? { integrity: 'sha512-x', distTags: {} } : undefined;
    },
    publish: async () => {
      throw new Error('preflight must never upload');
    },
    ensureDistTag: async () => {
      throw new Error('preflight must never tag');
    },
    waitUntilVisible: async () => undefined,
    checkCredentials: async (name) => void asked.push(`credentials ${name}`),
    hasVersionInRange: async (name, range) => {
      asked.push(`range ${name} ${range}`);
      // Only caret ranges of 0.x in these cases: ^0.9.0 means 0.9.x.
      const minor = /^\^(0\.\d+)\./.exec(range)![1];
      return (over.versions?.[name] ?? []).some((v) => v.startsWith(`${minor}.`));
    },
    ...over,
  };
  return { port, asked };
}

const options = (over: Partial<PreflightOptions> = {}): PreflightOptions => ({
  packages: [pkg('@s/a'), pkg('@s/b', ['@s/a'])],
  workspaceVersions: new Map(),
  checkPack: async () => [],
  redact: (t) => t,
  ...over,
});

describe('preflightRun', () => {
  it('passes a sound run: every public package pack-checked with the run versions, credentials checked per package, nothing uploaded', async () => {
    const { port, asked } = fakeRegistry();
    const checked: Array<[string, string[]]> = [];
    const report = await preflightRun(
      options({
        packages: [pkg('@s/a'), pkg('@s/b', ['@s/a']), pkg('@s/private', ['@s/a'], { private: true })],
        checkPack: async (p, versions) => {
          checked.push([p.name, [...versions.keys()]]);
          return [];
        },
        registry: port,
      }),
    );
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ packChecked: 2, remote: true });
    expect(checked.map(([n]) => n).sort()).toEqual(['@s/a', '@s/b']);
    expect(checked[0][1].sort()).toEqual(['@s/a', '@s/b', '@s/private']);
    expect(asked.filter((a) => a.startsWith('credentials')).sort()).toEqual(['credentials @s/a', 'credentials @s/b']);
    expect(preflightError(report.problems)).toBeUndefined();
  });

  it('collects every problem of every kind in one pass, each with its own code, and fails once naming them all', async () => {
    const { port } = fakeRegistry({ published: [], versions: { '@s/old': ['0.8.0'] } });
    const report = await preflightRun(
      options({
        packages: [
          pkg('@s/leaf', ['@s/mid']),
          pkg('@s/mid', ['@s/leaf'], { depReasons: { '@s/leaf': 'peerDependencies["@s/leaf"] is "workspace:^"' } }),
          pkg('@s/badversion'),
          pkg('@s/user', ['@s/outside', '@s/secret'], { registryRanges: [{ name: '@s/old', field: 'dependencies', range: '^0.9.0' }] }),
          pkg('@s/secret', [], { private: true }),
        ],
        known: [{ subject: 'project broken', code: 'EPACK', message: 'packages/broken/package.json is not valid JSON: Unexpected token', hint: 'Fix the file and run again.' }],
        cycles: 'error',
        workspaceVersions: new Map([
          ['@s/outside', '2.0.0'],
          ['@s/old', '1.0.0'],
        ]),
        checkPack: async (p) => {
          if (p.name === '@s/leaf') {
            return [
              new LockstepError(ErrorCodes.EWORKSPACEDEP, '@s/leaf: dependencies["@s/ghost"] is "workspace:*", but no workspace package is named "@s/ghost".', { hint: 'Add "@s/ghost".' }),
              new LockstepError(ErrorCodes.EWORKSPACEDEP, '@s/leaf: dependencies["@s/phantom"] is "workspace:^", but no workspace package is named "@s/phantom".'),
            ];
          }
          if (p.name === '@s/badversion') return [new LockstepError(ErrorCodes.EPACK, 'version "1.0" of @s/badversion is not an exact semver version.', { hint: 'Use 1.2.3.' })];
          return [];
        },
        registry: port,
      }),
    );
    const seen = report.problems.map((p) => `${p.subject} ${p.code}`).sort();
    expect(seen).toEqual(
      [
        'project broken EPACK',
        'the run ECYCLE',
        '@s/leaf@1.0.0 EWORKSPACEDEP',
        '@s/leaf@1.0.0 EWORKSPACEDEP',
        '@s/badversion@1.0.0 EPACK',
        '@s/user@1.0.0 EWORKSPACEDEP', // @s/outside@2.0.0 is neither in the run nor on the registry
        '@s/user@1.0.0 EWORKSPACEDEP', // @s/secret is private and not on the registry
        '@s/user@1.0.0 EWORKSPACEDEP', // ^0.9.0 of @s/old: the registry has only 0.8.0
      ].sort(),
    );
    const error = preflightError(report.problems)!;
    expect(error).toBeInstanceOf(PreflightError);
    expect(error.code).toBe('EPREFLIGHT');
    expect(error.problems).toHaveLength(8);
    expect(error.message).toMatch(/^Nothing was published: the checks before the first upload found 8 problems in this run\./);
    expect(error.message).toContain('  - @s/leaf@1.0.0: [EWORKSPACEDEP] @s/leaf: dependencies["@s/ghost"] is "workspace:*"');
    expect(error.message).toContain('\n      Hint: Add "@s/ghost".');
    expect(error.message).toContain('  - @s/badversion@1.0.0: [EPACK] version "1.0"');
    expect(error.message).toContain('[ECYCLE] These packages depend on each other in a cycle: @s/leaf → @s/mid → @s/leaf.');
    expect(error.message).toContain('@s/mid → @s/leaf: peerDependencies["@s/leaf"] is "workspace:^"');
    expect(error.message).toContain('[EWORKSPACEDEP] @s/user depends on @s/outside@2.0.0 from the workspace, which is neither in this run nor on http://registry.test/.');
    expect(error.message).toContain('@s/secret@1.0.0, which is private');
    expect(error.message).toContain('"^0.9.0", which the workspace\'s @s/old@1.0.0 does not satisfy');
    expect(error.message).toContain('  - project broken: [EPACK] packages/broken/package.json is not valid JSON');
    expect(error.hint).toMatch(/^Nothing was published/);
    // The run's own problems (cycle) come before the packages'.
    expect(error.message.indexOf('the run: [ECYCLE]')).toBeLessThan(error.message.indexOf('@s/badversion@1.0.0: [EPACK]'));
  });

  it('a dependency outside the run or private that is on the registry, and a range the registry satisfies, are fine', async () => {
    const { port } = fakeRegistry({ published: ['@s/outside@2.0.0', '@s/secret@1.0.0'], versions: { '@s/old': ['0.9.3'] } });
    const report = await preflightRun(
      options({
        packages: [pkg('@s/user', ['@s/outside', '@s/secret'], { registryRanges: [{ name: '@s/old', field: 'dependencies', range: '^0.9.0' }] }), pkg('@s/secret', [], { private: true })],
        workspaceVersions: new Map([
          ['@s/outside', '2.0.0'],
          ['@s/old', '1.0.0'],
        ]),
        registry: port,
      }),
    );
    expect(report.problems).toEqual([]);
  });

  it('refused credentials are one problem of the registry (not one per package), and the registry reads are skipped', async () => {
    const refused = new LockstepError(ErrorCodes.EAUTH, 'http://registry.test/ knows no user for the configured credentials', { hint: 'Check the token.' });
    const { port, asked } = fakeRegistry({ checkCredentials: async () => Promise.reject(refused) });
    const report = await preflightRun(
      options({ packages: [pkg('@s/a'), pkg('@s/b', ['@s/a', '@s/outside'])], workspaceVersions: new Map([['@s/outside', '1.0.0']]), registry: port }),
    );
    expect(report.problems).toEqual([{ subject: 'http://registry.test/', code: 'EAUTH', message: refused.message, hint: 'Check the token.' }]);
    expect(asked.filter((a) => a.startsWith('get '))).toEqual([]);
  });

  it('a dry run (no registry) checks nothing remote; packOnly limits the file checks, every manifest is still checked', async () => {
    const packed: string[] = [];
    const report = await preflightRun(
      options({
        packages: [pkg('@s/a'), pkg('@s/b', ['@s/a', '@s/outside'])],
        workspaceVersions: new Map([['@s/outside', '1.0.0']]),
        packOnly: new Set(['@s/b']),
        checkPack: async (p, _versions, scope) => {
          packed.push(`${p.name} files:${scope.files}`);
          return [];
        },
      }),
    );
    expect(report).toMatchObject({ problems: [], remote: false, packChecked: 1 });
    expect(packed.sort()).toEqual(['@s/a files:false', '@s/b files:true']);
  });

  it('access "restricted" on an unscoped package is refused before the upload would be (EUNSCOPED)', async () => {
    const report = await preflightRun(options({ packages: [pkg('plain'), pkg('@s/scoped')], access: 'restricted' }));
    expect(report.problems).toEqual([expect.objectContaining({ subject: 'plain@1.0.0', code: 'EBADMANIFEST', message: expect.stringContaining('not scoped') })]);
  });

  it('a checkPack that throws is a problem of that package, not a crash; secrets are redacted from every problem', async () => {
    const report = await preflightRun(
      options({
        packages: [pkg('@s/a')],
        checkPack: async () => {
          throw new Error('boom with token s3cr3t-t0ken inside');
        },
        redact: createRedactor(['s3cr3t-t0ken']),
      }),
    );
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ subject: '@s/a@1.0.0', code: 'EINTERNAL' });
    expect(JSON.stringify(report.problems)).not.toContain('s3cr3t-t0ken');
  });

  it('the same problem found twice is listed once', async () => {
    const e = new LockstepError(ErrorCodes.EPACK, 'same');
    const report = await preflightRun(options({ packages: [pkg('@s/a')], checkPack: async () => [e, e] }));
    expect(report.problems).toHaveLength(1);
  });

  it('a cycle is fine by default (cycles: "allow"): its members are checked like any package', async () => {
    const checked: string[] = [];
    const report = await preflightRun(
      options({
        packages: [pkg('@s/a', ['@s/b']), pkg('@s/b', ['@s/a']), pkg('@s/app', ['@s/a'])],
        checkPack: async (p) => {
          checked.push(p.name);
          return [];
        },
      }),
    );
    expect(report.problems).toEqual([]);
    expect(checked.sort()).toEqual(['@s/a', '@s/app', '@s/b']);
  });

  it('access per package (accessOf): only an unscoped package whose own access is "restricted" is refused', async () => {
    const report = await preflightRun(
      options({ packages: [pkg('plain'), pkg('other'), pkg('@s/scoped')], access: 'public', accessOf: (p) => (p.name === 'plain' ? 'restricted' : 'public') }),
    );
    expect(report.problems).toEqual([expect.objectContaining({ subject: 'plain@1.0.0', code: 'EBADMANIFEST' })]);
  });

  it('a prerelease whose tag nothing set (tagOf undefined) is refused with a hint; an explicit tag, even "latest", is not; expected-on-registry and private prereleases are not checked', async () => {
    const pre = (name: string, extra: Partial<ReleasePackage> = {}) => pkg(name, [], { version: '2.0.0-rc.0', ...extra });
    const tags: Record<string, string | undefined> = { '@s/next': 'next', '@s/latest': 'latest' };
    const report = await preflightRun(
      options({
        packages: [pre('@s/untagged'), pre('@s/next'), pre('@s/latest'), pkg('@s/release'), pre('@s/kept', { expectPublished: 'not bumped' }), pre('@s/hidden', { private: true })],
        tagOf: (p) => tags[p.name],
      }),
    );
    expect(report.problems).toEqual([
      expect.objectContaining({ subject: '@s/untagged@2.0.0-rc.0', code: 'EBADMANIFEST', message: expect.stringContaining('would become the "latest" version'), hint: expect.stringContaining('--tag next') }),
    ]);
  });

  it('publishConfig: invalid values are EBADMANIFEST per value (private packages are not checked); keys lockstep leaves alone pass', async () => {
    const report = await preflightRun(
      options({
        packages: [
          pkg('@s/bad', [], { publishConfig: { access: 'secret', registry: 'ftp://x/', provenance: 'yes' } }),
          pkg('@s/ok', [], { publishConfig: { access: 'restricted', registry: 'https://other.test/', tag: 'next', provenance: false, directory: 'dist' } }),
          pkg('@s/creds', [], { publishConfig: { '//registry.test/:_authToken': 'x' } }),
          pkg('@s/hidden', [], { private: true, publishConfig: { access: 'nope' } }),
        ],
      }),
    );
    expect(report.problems.map((p) => `${p.subject} ${p.code} ${p.message}`).sort()).toEqual([
      '@s/bad@1.0.0 EBADMANIFEST @s/bad@1.0.0: publishConfig.access is "secret", not "public" or "restricted".',
      '@s/bad@1.0.0 EBADMANIFEST @s/bad@1.0.0: publishConfig.provenance is "yes", not true or false.',
      '@s/bad@1.0.0 EBADMANIFEST @s/bad@1.0.0: publishConfig.registry is "ftp://x/", not an http(s) URL.',
      '@s/creds@1.0.0 EBADMANIFEST @s/creds@1.0.0: publishConfig has "//registry.test/:_authToken", which lockstep does not apply.',
    ]);
    expect(report.problems.every((p) => p.hint)).toBe(true);
  });

  it('a version expected on the registry already (expectPublished) is not packed, only looked for: there is fine, missing is a problem naming why', async () => {
    const { port, asked } = fakeRegistry({ published: ['@s/kept@1.0.0'] });
    const checked: string[] = [];
    const report = await preflightRun(
      options({
        packages: [
          pkg('@s/kept', [], { expectPublished: 'not bumped by nx release' }),
          pkg('@s/gone', [], { expectPublished: 'not bumped by nx release' }),
          pkg('@s/new', ['@s/kept', '@s/gone']),
        ],
        checkPack: async (p) => {
          checked.push(p.name);
          return [];
        },
        registry: port,
      }),
    );
    expect(checked).toEqual(['@s/new']);
    expect(asked).toEqual(expect.arrayContaining(['get @s/kept@1.0.0', 'get @s/gone@1.0.0']));
    expect(report.problems).toEqual([
      expect.objectContaining({
        subject: '@s/gone@1.0.0',
        code: 'EWORKSPACEDEP',
        message: '@s/gone@1.0.0 should already be on http://registry.test/ (not bumped by nx release), and is not.',
        hint: expect.stringContaining('--first-release'),
      }),
    ]);
  });
});
