import { parseArgs } from 'util';
import { LockstepError, isLockstepError, toLockstepError } from '@lockstep/core';
import { lockStatus } from './commands/lock-status';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: lockstep <command> [options]

Commands:
  lock status --resource path:<dir> [--json]   who holds the lock of a generate outDir, and who waits

Options:
  --json       machine-readable output: { "schema_version": 1, "ok": …, "data": … }
  --help, -h   this help
  --version    the version of lockstep`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd: string;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        resource: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    io.err(`lockstep: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(require('../package.json').version);
    return EXIT_OK;
  }
  if (values.help || positionals.length === 0) {
    io.out(USAGE);
    return positionals.length === 0 && !values.help ? EXIT_USAGE : EXIT_OK;
  }
  const command = positionals.join(' ');
  try {
    if (command !== 'lock status') {
      throw new LockstepError('EBADOPTIONS', `Unknown command '${command}'.`, { hint: 'Run lockstep --help for the commands.' });
    }
    const result = lockStatus(values.resource, io.cwd);
    io.out(values.json ? JSON.stringify({ schema_version: 1, ok: true, data: result.data }) : result.text);
    return EXIT_OK;
  } catch (error) {
    const failure = toLockstepError(error);
    if (values.json) io.out(JSON.stringify({ schema_version: 1, ok: false, error: { code: failure.code, message: failure.message, hint: failure.hint } }));
    else io.err(`lockstep: ${failure.format()}`);
    return isLockstepError(error, 'EBADOPTIONS') ? EXIT_USAGE : EXIT_FAILURE;
  }
}
