import { parseArgs } from 'util';
import { LockstepError, isLockstepError, toLockstepError } from '@lockstep/core';
import { lockStatus } from './commands/lock-status';
import { stateClear, stateShow } from './commands/state';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: lockstep <command> [options]

Commands:
  lock status --resource path:<dir> [--json]   who holds the lock of a generate outDir, and who waits
  state show  [--target publish] [--json]      the publish journal: the run, each package's state
  state clear [--target publish] [--json]      forget the journal, so the next publish starts fresh

Options:
  --target     the publish target whose journal to use (default: publish)
  --cache-dir  Nx's cache directory (default: the workspace's, as Nx computes it)
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
        target: { type: 'string', default: 'publish' },
        'cache-dir': { type: 'string' },
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
    const stateOptions = { target: values.target!, cacheDir: values['cache-dir'], cwd: io.cwd };
    const result =
      command === 'lock status'
        ? lockStatus(values.resource, io.cwd)
        : command === 'state show'
          ? await stateShow(stateOptions)
          : command === 'state clear'
            ? await stateClear(stateOptions)
            : undefined;
    if (!result) throw new LockstepError('EBADOPTIONS', `Unknown command '${command}'.`, { hint: 'Run lockstep --help for the commands.' });
    io.out(values.json ? JSON.stringify({ schema_version: 1, ok: true, data: result.data }) : result.text);
    return EXIT_OK;
  } catch (error) {
    const failure = toLockstepError(error);
    if (values.json) io.out(JSON.stringify({ schema_version: 1, ok: false, error: { code: failure.code, message: failure.message, hint: failure.hint } }));
    else io.err(`lockstep: ${failure.format()}`);
    return isLockstepError(error, 'EBADOPTIONS') ? EXIT_USAGE : EXIT_FAILURE;
  }
}
