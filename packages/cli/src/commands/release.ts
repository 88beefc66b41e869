import {
  approveStagedRun,
  createRedactor,
  createRegistryClient,
  createRunOtpPrompt,
  normalizeRegistry,
  readJournal,
  rejectStagedRun,
  type StagedRunResult,
} from '@lockstep/core';
import type { Command, CommandContext, OptionSpec } from '../args';
import { stringOption } from '../args';
import { usageError } from '../errors';
import { journalDir } from './state';

const OPTIONS: Record<string, OptionSpec> = {
  target: { type: 'string', default: 'publish' },
  'cache-dir': { type: 'string' },
  otp: { type: 'string' },
  registry: { type: 'string' },
  'verify-timeout': { type: 'string' },
};

const HELP = [
  'Options:',
  '  --target NAME          the publish target whose staged run to use (default: publish)',
  "  --cache-dir DIR        Nx's cache directory (default: the workspace's, as Nx computes it)",
  '  --otp CODE             one-time password for the whole run (else NPM_CONFIG_OTP; else, in a',
  '                         terminal, asked once when the registry wants one)',
  '  --registry URL         default: the registry the run staged on (from the journal)',
  '  --verify-timeout MS    how long to wait for an approved version to be live (default 300000)',
  '  --json                 print { "schema_version": 1, "ok": …, "data": { runId, registry, packages } }',
].join('\n');

async function runStaged(context: CommandContext, action: 'approve' | 'reject'): Promise<{ data: unknown; text: string }> {
  const { values, io, env } = context;
  const dir = journalDir({ target: String(values.target), cacheDir: stringOption(values, 'cache-dir'), cwd: io.cwd });
  const timeoutText = stringOption(values, 'verify-timeout');
  const verifyTimeoutMs = timeoutText === undefined ? 300_000 : Number(timeoutText);
  if (!Number.isInteger(verifyTimeoutMs) || verifyTimeoutMs < 0) throw usageError(`--verify-timeout must be a whole number of milliseconds, not '${timeoutText}'.`, 'For example --verify-timeout 300000.');
  const otp = stringOption(values, 'otp') ?? (env.NPM_CONFIG_OTP || env.npm_config_otp || undefined);
  // The run's registry (read without a lock: the files are replaced atomically); the approval itself checks the run again.
  const recorded = (await readJournal(dir).catch(() => undefined))?.run.registry;
  const registryOption = stringOption(values, 'registry');
  const registry = registryOption ? normalizeRegistry(registryOption) : recorded || undefined;
  const secrets: Array<string | undefined> = [otp];
  let redact = createRedactor(secrets);
  const client = await createRegistryClient({ cwd: io.cwd, env, registry, otp, onSecret: (s) => (secrets.push(s), (redact = createRedactor(secrets))) });
  secrets.push(...client.config.secrets);
  redact = createRedactor(secrets);
  const askOtp = createRunOtpPrompt({
    question: `[lockstep] The registry asks for a one-time password (2FA) to ${action} the staged run. Enter the code from your authenticator: `,
    onCode: (code) => (secrets.push(code), (redact = createRedactor(secrets))),
  });
  const lines: string[] = [];
  const log = (line: string) => {
    const safe = redact(line);
    lines.push(safe);
    if (!context.json) io.err(safe);
  };
  const run = action === 'approve' ? approveStagedRun : rejectStagedRun;
  const result: StagedRunResult = await run({ dir, client, otp, askOtp, verifyTimeoutMs, log });
  const counts = new Map<string, number>();
  for (const p of result.packages) counts.set(p.outcome, (counts.get(p.outcome) ?? 0) + 1);
  const table = result.packages.map((p) => `  L${p.level}  ${p.outcome.padEnd(12)} ${p.name}@${p.version}${p.stageId ? `  stage ${p.stageId}` : ''}`);
  const text = [
    `${action === 'approve' ? 'Approved' : 'Rejected'} staged run ${result.runId} on ${result.registry}:`,
    ...table,
    [...counts].map(([k, n]) => `${n} ${k}`).join(', ') + '.',
  ].join('\n');
  return { data: JSON.parse(redact(JSON.stringify(result))), text: redact(text) };
}

export const releaseCommands: Command[] = [
  {
    words: ['release', 'approve'],
    synopsis: '[--target publish] [--otp CODE] [--cache-dir DIR]',
    summary: "Publish a staged run (stage: true): approve its staged versions in dependency order with one OTP; resumable.",
    options: OPTIONS,
    help: HELP,
    run: (context) => runStaged(context, 'approve'),
  },
  {
    words: ['release', 'reject'],
    synopsis: '[--target publish] [--otp CODE] [--cache-dir DIR]',
    summary: "Withdraw a staged run's staged versions (nothing of them goes public).",
    options: OPTIONS,
    help: HELP,
    run: (context) => runStaged(context, 'reject'),
  },
];
