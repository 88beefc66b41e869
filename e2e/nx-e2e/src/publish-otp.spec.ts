/**
 * A registry that demands a one-time password (EOTP): in an interactive
 * terminal (a pseudo-terminal made by util-linux `script`) the run asks once,
 * without echo, and reuses the code for every upload, retrying the package
 * that asked; without a terminal the run fails with EOTP and its hint.
 * Real nx, real Verdaccio behind the fault proxy, whose front plays npm's 2FA.
 */
import { spawn } from 'child_process';
import type { IncomingMessage, ServerResponse } from 'http';
import { ProxyFront } from '../../../tools/registry/fault-proxy';
import { nxBin, nxEnv, track } from '../../../tools/scripts/workspace';
import { waitFor } from '../../../packages/core/src/test-utils/wait-for';
import { PackageSpec, PublishRegistry, PublishWorkspace, expectEveryVersionOnce, show, summaryCounts, usePublishSuite } from './utils/publish-workspace';

const TEST_TIMEOUT_MS = 240_000;
const CODE = '024680';
const PROMPT = 'Enter the code from your authenticator';

let reg: PublishRegistry;
const workspace = usePublishSuite((r) => {
  reg = r;
});
afterAll(() => reg?.proxy.setOptions({ front: undefined }));

/** npm's 2FA on publish: an upload without the right `npm-otp` header is 401 with `www-authenticate: OTP`. */
function otpFront(code: string): ProxyFront & { seen: Array<{ name: string; otp: string | undefined }> } {
  const seen: Array<{ name: string; otp: string | undefined }> = [];
  return {
    seen,
    answer(req: IncomingMessage, res: ServerResponse, _body: Buffer, upload: { name: string } | undefined) {
      if (!upload) return undefined;
      const otp = typeof req.headers['npm-otp'] === 'string' ? req.headers['npm-otp'] : undefined;
      seen.push({ name: upload.name, otp });
      if (otp === code) return undefined;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'OTP' });
      res.end(JSON.stringify({ error: 'You must provide a one-time pass. Upgrade your client to npm@latest in order to use 2FA.' }));
      return 401;
    },
    upstreamHeaders: (_req: IncomingMessage, headers: Record<string, unknown>) => headers,
  };
}

const specs = (): PackageSpec[] => [{ short: 'a' }, { short: 'b', dependencies: { a: 'workspace:^' } }, { short: 'c' }, { short: 'd', dependencies: { b: 'workspace:*', c: 'workspace:*' } }];

/** `nx run-many -t publish --batch` inside a pseudo-terminal; types `answer` once the prompt shows. */
async function publishInTerminal(pws: PublishWorkspace, answer: string): Promise<{ code: number | null; output: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(nxEnv(pws.env({ NX_TUI: 'false', TERM: 'dumb', CI: 'true' })))) if (v !== undefined) env[k] = v;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, nxBin(process.env.LOCKSTEP_E2E_TEMPLATE!), 'run-many', '-t', 'publish', '--output-style=static', '--batch'].map(quote).join(' ');
  const child = track(spawn('script', ['-qfec', command, '/dev/null'], { cwd: pws.root, env, stdio: ['pipe', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let exited = false;
  void done.then(() => (exited = true));
  await waitFor(() => output.includes(PROMPT) || exited, { timeoutMs: 60_000, what: () => `the one-time password prompt (or the run to end); output so far:\n${output.slice(-3000)}` });
  if (!exited) child.stdin!.write(`${answer}\r`);
  const code = await done;
  child.stdin!.end();
  return { code, output };
}

describe('EOTP from the registry', () => {
  it(
    'in a terminal: one prompt for the whole run (no echo), the package that asked retried with the code, every upload then carries it, the code in no output',
    async () => {
      const pws = await workspace('otp-tty', { specs: specs() });
      const front = otpFront(CODE);
      reg.proxy.setOptions({ front });
      const result = await publishInTerminal(pws, CODE);
      show('EOTP in a terminal', { output: result.output, code: result.code });
      expect({ code: result.code, output: result.output }).toEqual({ code: 0, output: expect.any(String) });
      expect(result.output.split(PROMPT)).toHaveLength(2);
      expect(result.output).not.toContain(CODE);
      expect(summaryCounts(result.output)).toEqual([{ published: 4, skipped: 0, failed: 0, blocked: 0 }]);
      const uploads = reg.proxy.stats.uploads.filter((u) => u.name.startsWith(`@${pws.scope}/`));
      expectEveryVersionOnce(pws, uploads);
      // Refused without a code only before the prompt; every upload that went through carried the code.
      const mine = front.seen.filter((s) => s.name.startsWith(`@${pws.scope}/`));
      expect(mine.filter((s) => s.otp === CODE).map((s) => s.name).sort()).toEqual(pws.publicShorts.map((s) => pws.name(s)).sort());
      expect(mine.filter((s) => s.otp !== CODE).length).toBeGreaterThanOrEqual(1);
      expect(mine.filter((s) => s.otp !== undefined && s.otp !== CODE)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'without a terminal: EOTP fails the package with a hint, nothing asked',
    async () => {
      const pws = await workspace('otp-ci', { specs: specs() });
      reg.proxy.setOptions({ front: otpFront(CODE) });
      // A detached child is a new session (setsid): no controlling terminal, as in CI, even when the tests run in one.
      const result = await pws.spawnPublish(['--batch']).done;
      expect(result.code).not.toBe(0);
      expect(result.output).not.toContain(PROMPT);
      expect(result.output).toMatch(/wants a one-time password/);
      expect(result.output).toMatch(/Pass the current code as `otp`/);
    },
    TEST_TIMEOUT_MS,
  );
});
