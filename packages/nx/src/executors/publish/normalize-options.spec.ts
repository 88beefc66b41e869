import * as path from 'path';
import { PUBLISH_OPTIONS, RUN_WIDE_OPTIONS, checkRunWideOptions, normalizePublishOptions } from './normalize-options';

const ctx = (env: NodeJS.ProcessEnv = {}) => ({ root: '/ws', env });

describe('normalizePublishOptions', () => {
  it('applies the documented defaults', () => {
    expect(normalizePublishOptions({}, ctx())).toEqual({
      registry: undefined,
      // Unset, so a package's publishConfig.tag can apply (core defaults to latest after it).
      tag: undefined,
      access: undefined,
      otp: undefined,
      auth: 'auto',
      provenance: undefined,
      provenanceFile: undefined,
      dryRun: false,
      stage: false,
      maxConcurrency: 8,
      retries: 3,
      verifyTimeoutMs: 300_000,
      resume: 'auto',
      group: { template: 'publish', waitTimeoutMs: 3_600_000, max: 1, cancelInProgress: false },
      lockBackend: { type: 'local' },
      lockPolicy: 'require',
      forceLock: false,
      summaryFile: undefined,
      cycles: 'allow',
      firstRelease: false,
      versionData: undefined,
    });
  });

  it('keeps schema.json defaults and the normalised defaults in step', () => {
    const schema = require('./schema.json');
    const normalized = normalizePublishOptions({}, ctx());
    // No schema default for tag: Nx would pass it as if the user had set it, hiding publishConfig.tag.
    expect(schema.properties.tag).not.toHaveProperty('default');
    expect(normalized.tag).toBeUndefined();
    expect(normalizePublishOptions({ tag: ' next ' }, ctx()).tag).toBe('next');
    expect(schema.properties.maxConcurrency.default).toBe(normalized.maxConcurrency);
    expect(schema.properties.retries.default).toBe(normalized.retries);
    expect(schema.properties.verifyTimeoutMs.default).toBe(normalized.verifyTimeoutMs);
    expect(schema.properties.resume.default).toBe(normalized.resume);
    expect(schema.properties.concurrency.properties.group.default).toBe(normalized.group.template);
    expect(schema.properties.concurrency.properties.waitTimeoutMs.default).toBe(normalized.group.waitTimeoutMs);
    expect(schema.properties.lockPolicy.default).toBe(normalized.lockPolicy);
    expect(schema.properties.auth.default).toBe(normalized.auth);
    expect(schema.properties.auth.enum).toEqual(['auto', 'token', 'oidc']);
  });

  it('takes auth, provenance and provenanceFile (resolved against the workspace); refuses an unknown auth', () => {
    expect(normalizePublishOptions({ auth: 'oidc', provenance: true, provenanceFile: 'dist/a.sigstore' }, ctx())).toMatchObject({ auth: 'oidc', provenance: true, provenanceFile: '/ws/dist/a.sigstore' });
    expect(normalizePublishOptions({ provenance: false }, ctx()).provenance).toBe(false);
    expect(() => normalizePublishOptions({ auth: 'sso' as never }, ctx())).toThrow(/auth must be one of "auto", "token", "oidc"/);
  });

  it('takes max, cancelInProgress and the git backend with its remote and TTL', () => {
    expect(normalizePublishOptions({ concurrency: { max: 3, cancelInProgress: true } }, ctx()).group).toMatchObject({ max: 3, cancelInProgress: true });
    expect(normalizePublishOptions({ lockBackend: 'git' }, ctx()).lockBackend).toEqual({ type: 'git', remote: 'origin', ttlMs: 120_000 });
    expect(normalizePublishOptions({ lockBackend: { type: 'git', remote: 'upstream', ttl: '5m' } }, ctx()).lockBackend).toEqual({ type: 'git', remote: 'upstream', ttlMs: 300_000 });
  });

  it('turns NX_DRY_RUN=true into a dry run and resolves summaryFile', () => {
    const n = normalizePublishOptions({ summaryFile: 'dist/summary.json' }, ctx({ NX_DRY_RUN: 'true' }));
    expect(n.dryRun).toBe(true);
    expect(n.summaryFile).toBe(path.resolve('/ws/dist/summary.json'));
  });

  describe('otp: always a string, leading zeros kept, from the option or npm\'s environment variable', () => {
    it.each([
      ['a string as given', { otp: '654321' }, {}, '654321'],
      ['a string with a leading zero', { otp: '012345' }, {}, '012345'],
      ['a string, trimmed', { otp: ' 123456 ' }, {}, '123456'],
      // Nx's CLI parser and its coercion for ["string", "number"] turn --otp=654321 into 654321 and --otp=012345 into 12345.
      ['a number from Nx\'s parser', { otp: 654321 }, {}, '654321'],
      ['a number that lost its leading zero, padded back to 6 digits', { otp: 12345 }, {}, '012345'],
      ['a number that lost two zeros', { otp: 4321 }, {}, '004321'],
      ['a number of more than 6 digits, kept', { otp: 12345678 }, {}, '12345678'],
      ['NPM_CONFIG_OTP, when the option is absent', {}, { NPM_CONFIG_OTP: '012345' }, '012345'],
      ['npm_config_otp, when the option is absent', {}, { npm_config_otp: '000111' }, '000111'],
      ['npm_config_otp in any case, as npm reads it', {}, { Npm_Config_Otp: '222333' }, '222333'],
      ['npm_config_otp before NPM_CONFIG_OTP', {}, { npm_config_otp: '111111', NPM_CONFIG_OTP: '222222' }, '111111'],
      ['the option before the environment', { otp: '333333' }, { NPM_CONFIG_OTP: '444444' }, '333333'],
      ['an empty option falls back to the environment', { otp: '' }, { NPM_CONFIG_OTP: '555555' }, '555555'],
      ['nothing at all', {}, {}, undefined],
      ['an empty variable', {}, { NPM_CONFIG_OTP: '' }, undefined],
    ])('%s', (_label, options, env, expected) => {
      expect(normalizePublishOptions(options as never, ctx(env as NodeJS.ProcessEnv)).otp).toBe(expected);
    });

    it.each([[-1], [1.5], [Number.NaN], [true], [{}]])('refuses %p with EBADOPTIONS, without echoing it', (otp) => {
      let error: any;
      try {
        normalizePublishOptions({ otp } as never, ctx());
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'EBADOPTIONS', hint: expect.stringContaining('NPM_CONFIG_OTP') });
      expect(error.message).not.toContain(String(otp));
    });

    it('schema.json lets Nx pass a string or a number', () => {
      expect(require('./schema.json').properties.otp.type).toEqual(['string', 'number']);
    });
  });

  it.each([
    [{ registry: 'not a url' }, /registry must be an http\(s\) URL/],
    [{ registry: 'ftp://x' }, /registry must be an http\(s\) URL/],
    [{ maxConcurrency: 0 }, /maxConcurrency must be a whole number ≥ 1/],
    [{ retries: 1.5 }, /retries must be a whole number/],
    [{ resume: 'sometimes' }, /resume must be one of "auto", "fresh"/],
    [{ lockPolicy: 'maybe' }, /lockPolicy must be one of/],
    [{ concurrency: { max: 0 } }, /concurrency.max must be a whole number ≥ 1/],
    [{ lockBackend: 'git', concurrency: { max: 2 } }, /concurrency.max 2 needs lockBackend "local"/],
    [{ lockBackend: 'git', concurrency: { cancelInProgress: true } }, /cancelInProgress needs lockBackend "local"/],
    [{ lockBackend: 'svn' }, /lockBackend must be one of "local", "git"/],
    [{ lockBackend: { type: 'git', remote: 'a b' } }, /lockBackend.remote must be the name of a git remote/],
    [{ lockBackend: { type: 'git', ttl: '30' } }, /has no unit/],
    [{ lockBackend: { type: 'git', ttl: '2s' } }, /lockBackend.ttl must be at least 10s/],
    [{ concurrency: { group: '' } }, /concurrency.group must be a non-empty string/],
  ])('refuses %j with EBADOPTIONS and a hint', (options, message) => {
    let error: any;
    try {
      normalizePublishOptions(options as never, ctx());
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'EBADOPTIONS', message: expect.stringMatching(message), hint: expect.any(String) });
  });

  describe('unknown options, and what nx release passes', () => {
    it('an unknown option is EBADOPTIONS naming it, not silently ignored; schema.json allows no other property either', () => {
      expect(() => normalizePublishOptions({ tags: 'next', regsitry: 'http://x/' } as never, ctx())).toThrow(
        expect.objectContaining({ code: 'EBADOPTIONS', message: 'Unknown publish options: "tags", "regsitry".' }),
      );
      const schema = require('./schema.json');
      expect(schema.additionalProperties).toBe(false);
      expect(Object.keys(schema.properties).sort()).toEqual([...PUBLISH_OPTIONS].sort());
    });

    it('takes every override nx release publish passes: registry, tag, access, otp, dryRun, firstRelease, nxReleaseVersionData', () => {
      const n = normalizePublishOptions(
        {
          registry: 'http://localhost:4873/',
          tag: 'next',
          access: 'public',
          otp: 12345,
          dryRun: true,
          firstRelease: true,
          nxReleaseVersionData: { a: { currentVersion: '1.0.0', newVersion: '1.1.0', dependentProjects: [] }, b: { currentVersion: '1.0.0', newVersion: null, dependentProjects: [] } },
        },
        ctx(),
      );
      expect(n).toMatchObject({ registry: 'http://localhost:4873/', tag: 'next', access: 'public', otp: '012345', dryRun: true, firstRelease: true });
      expect(n.versionData).toEqual(
        new Map([
          ['a', { newVersion: '1.1.0' }],
          ['b', { newVersion: null }],
        ]),
      );
    });

    it('refuses a malformed nxReleaseVersionData and an unknown cycles policy', () => {
      expect(() => normalizePublishOptions({ nxReleaseVersionData: [] as never }, ctx())).toThrow(expect.objectContaining({ code: 'EBADOPTIONS' }));
      expect(() => normalizePublishOptions({ nxReleaseVersionData: { a: { newVersion: 3 } } as never }, ctx())).toThrow(expect.objectContaining({ code: 'EBADOPTIONS' }));
      expect(() => normalizePublishOptions({ cycles: 'ignore' as never }, ctx())).toThrow(expect.objectContaining({ code: 'EBADOPTIONS', message: expect.stringContaining('cycles must be one of "allow", "error"') }));
      expect(normalizePublishOptions({ cycles: 'error' }, ctx()).cycles).toBe('error');
    });
  });

  describe('checkRunWideOptions (batch mode)', () => {
    const n = (o: Record<string, unknown>) => normalizePublishOptions(o as never, ctx());

    it('per-package options may differ: registry, tag, access, otp, retries, packageRoot, firstRelease, nxReleaseVersionData', () => {
      expect(() =>
        checkRunWideOptions(
          new Map([
            ['a', n({ registry: 'http://one.test/', tag: 'next', access: 'public', otp: '111111', retries: 1, packageRoot: 'dist/a', firstRelease: true })],
            ['b', n({ registry: 'http://two.test/', tag: 'beta', access: 'restricted', otp: '222222', retries: 5, nxReleaseVersionData: { b: { newVersion: null } } })],
          ]),
        ),
      ).not.toThrow();
    });

    it('run-wide options must agree: one EBADOPTIONS naming every differing option, each value and its projects', () => {
      let error: any;
      try {
        checkRunWideOptions(
          new Map([
            ['a', n({ maxConcurrency: 2, concurrency: { group: 'release' } })],
            ['b', n({ maxConcurrency: 8, concurrency: { group: 'release' } })],
            ['c', n({ maxConcurrency: 2, concurrency: { group: 'other' }, cycles: 'error' })],
          ]),
        );
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'EBADOPTIONS' });
      expect(error.message).toContain('maxConcurrency: 2 (a, c) vs 8 (b)');
      expect(error.message).toContain('concurrency: {"template":"release"');
      expect(error.message).toContain('(a, b) vs {"template":"other"');
      expect(error.message).toContain('cycles: "allow" (a, b) vs "error" (c)');
      expect(error.message).not.toContain('dryRun');
      expect(error.hint).toContain('each package uses its own');
    });

    it('lists the run-wide options', () => {
      expect([...RUN_WIDE_OPTIONS].sort()).toEqual(['concurrency', 'cycles', 'dryRun', 'forceLock', 'lockBackend', 'lockPolicy', 'maxConcurrency', 'resume', 'stage', 'summaryFile', 'verifyTimeoutMs']);
    });
  });
});
