import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import * as path from 'path';
import { ErrorCodes } from '../errors';
import { expectLockstepError } from '../test-utils/lockstep-error';
import { useTempDir } from '../test-utils/temp-dir';
import { FakeRegistry } from './__fixtures__/fake-registry';
import { httpError } from './__fixtures__/errors';
import { loadNpmConfig } from './npm-config';
import { createRunOtpPrompt } from './otp-prompt';
import { createRegistryClient } from './registry-client';

const REGISTRY = 'http://127.0.0.1:4873/';
const otpDemand = () => httpError(401, { headers: { 'www-authenticate': 'OTP' } });

describe('createRunOtpPrompt', () => {
  it('asks once for the whole run, however many ask at once; no terminal: undefined, asked never', async () => {
    const reads: string[] = [];
    const codes: string[] = [];
    const prompt = createRunOtpPrompt({
      question: 'Code: ',
      open: () => 42,
      read: async (fd, question) => {
        reads.push(`${fd} ${question}`);
        return ' 123456 '.trim();
      },
      onCode: (c) => codes.push(c),
    });
    expect(await Promise.all([prompt(), prompt(), prompt()])).toEqual(['123456', '123456', '123456']);
    expect(await prompt()).toBe('123456');
    expect(reads).toEqual(['42 Code: ']);
    expect(codes).toEqual(['123456']);

    let opened = 0;
    const none = createRunOtpPrompt({ question: 'Code: ', open: () => ((opened += 1), undefined), read: async () => 'x' });
    expect(await none()).toBeUndefined();
    expect(opened).toBe(1);
  });
});

describe('createRegistryClient: EOTP', () => {
  const dir = useTempDir('lockstep-otp-');

  async function setup(askOtp?: () => Promise<string | undefined>) {
    const root = mkdtempSync(path.join(dir(), 'case-'));
    const repo = path.join(root, 'repo');
    mkdirSync(repo);
    writeFileSync(path.join(repo, 'package.json'), '{"private":true}');
    writeFileSync(path.join(repo, '.npmrc'), `registry=${REGISTRY}\n//127.0.0.1:4873/:_authToken=tok\n`);
    const env = { HOME: root, NPM_CONFIG_GLOBALCONFIG: path.join(root, 'none') };
    const fake = new FakeRegistry();
    const config = await loadNpmConfig({ cwd: repo, env });
    const client = await createRegistryClient({ cwd: repo, env, config, transport: fake, sleep: async () => undefined, askOtp });
    return { client, fake };
  }

  it('in a terminal: the package that asked is retried with the prompted code, and later uploads use it without asking again', async () => {
    let asked = 0;
    const { client, fake } = await setup(async () => ((asked += 1), '654321'));
    fake.fail('publish', otpDemand());
    expect(await client.publish({ name: '@demo/a', version: '1.0.0' }, Buffer.from('a'))).toBe('published');
    expect(await client.publish({ name: '@demo/b', version: '1.0.0' }, Buffer.from('b'))).toBe('published');
    const uploads = fake.calls.filter((c) => c.op === 'publish');
    expect(uploads.map((c) => [c.name, c.options.otp])).toEqual([
      ['@demo/a', null],
      ['@demo/a', '654321'],
      ['@demo/b', '654321'],
    ]);
    expect(asked).toBe(1);
  });

  it('without a terminal (no code), or when the prompted code is refused too: EOTP with a hint, the code in no message', async () => {
    const none = await setup(async () => undefined);
    none.fake.fail('publish', otpDemand());
    await expectLockstepError(none.client.publish({ name: '@demo/a', version: '1.0.0' }, Buffer.from('a')), ErrorCodes.EAUTH, /one-time password/);

    const refused = await setup(async () => '111222');
    refused.fake.fail('publish', otpDemand()).fail('publish', otpDemand());
    const error = await expectLockstepError(refused.client.publish({ name: '@demo/a', version: '1.0.0' }, Buffer.from('a')), ErrorCodes.EAUTH, /one-time password/);
    expect(`${error.message} ${error.hint} ${error.stack}`).not.toContain('111222');
  });
});
