import { parseArgs } from 'util';
import { type LockstepError, errnoCode, safeJson, safeLines, safeText, toLockstepError } from '@lockstep/core';
import { type Command, type CommandContext, type Io, type OptionSpec, commandHelp, commandName, joinDashValues } from './args';
import { usageError } from './errors';
import { groupCommands } from './commands/group';
import { lockCommands } from './commands/lock';
import { stateClear, stateShow } from './commands/state';
import { releaseCommands } from './commands/release';

export type { Io } from './args';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** A lock conflict: the lease or lock is held by another owner, or waiting for it timed out. */
export const EXIT_CONFLICT = 4;

const STATE_OPTIONS: Record<string, OptionSpec> = {
  target: { type: 'string', default: 'publish' },
  'cache-dir': { type: 'string' },
};
const STATE_HELP = [
  'Options:',
  '  --target NAME      the publish target whose journal to use (default: publish)',
  "  --cache-dir DIR    Nx's cache directory (default: the workspace's, as Nx computes it)",
  '  --json             print { "schema_version": 1, "ok": …, "data" | "error": … } on stdout',
].join('\n');

const stateOptions = (context: CommandContext) => ({
  target: String(context.values.target),
  cacheDir: context.values['cache-dir'] as string | undefined,
  cwd: context.io.cwd,
});

/**
 * The command table: `lockstep <words…> [options]`. To add a command, add an
 * entry (see `Command` in args.ts); dispatch, --help, --json and exit codes
 * are generic.
 */
export const COMMANDS: Command[] = [
  ...lockCommands,
  ...groupCommands,
  ...releaseCommands,
  {
    words: ['state', 'show'],
    synopsis: '[--target publish] [--cache-dir DIR]',
    summary: "The publish journal: the run, each package's state.",
    options: STATE_OPTIONS,
    help: STATE_HELP,
    run: (context) => stateShow(stateOptions(context)),
  },
  {
    words: ['state', 'clear'],
    synopsis: '[--target publish] [--cache-dir DIR]',
    summary: 'Forget the journal, so the next publish starts fresh.',
    options: STATE_OPTIONS,
    help: STATE_HELP,
    run: (context) => stateClear(stateOptions(context)),
  },
];

function usage(commands: Command[] = COMMANDS): string {
  const lines = commands.map((c) => `  ${`${c.words.join(' ')} ${c.synopsis}`.trimEnd()}\n      ${c.summary}`);
  return `Usage: lockstep <command> [options]

Commands:
${lines.join('\n')}

Lock options (lock …):
  --resource R         package:<name>, path:<dir>, group:<name> or repo:<name>; repo: conflicts
                       with every lease, path: with overlapping paths, the others on the same name
  --ttl D              30s, 15m, 2h, 1h30m, 2d (default 30m): units largest first, each once;
                       between 1s and 7d (LOCKSTEP_MAX_TTL raises the maximum, up to 365d)
  --owner O            default $LOCKSTEP_OWNER, else <user>@<host>
  --backend local|git  where leases live (default local); --remote NAME for git (default origin)

Options of every command:
  --json               machine-readable output on stdout: { "schema_version": 1, "ok": …, "data": … }
  --help, -h           this help, or a command's: lockstep lock acquire --help
  --version            the version of lockstep

Values read from lease records (owners, hosts, resources) are shown with control characters
escaped (\u001b) and absurdly long ones cut (…): records come from other users and machines.

Exit codes: 0 ok, 1 failure, 2 usage error, 4 lock conflict (held by another owner, or waited too long).`;
}

const CONFLICT_CODES = new Set(['ELEASECONFLICT', 'ELEASENOTOWNER', 'ELOCKTIMEOUT']);
const USAGE_CODES = new Set(['EBADOPTIONS', 'EBADRESOURCE', 'EBADDURATION']);

export function exitCodeFor(error: LockstepError): number {
  if (CONFLICT_CODES.has(error.code)) return EXIT_CONFLICT;
  if (USAGE_CODES.has(error.code)) return EXIT_USAGE;
  return EXIT_FAILURE;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  // `--json` of lockstep, not of a command after `--` (group run).
  const own = argv.indexOf('--') === -1 ? argv : argv.slice(0, argv.indexOf('--'));
  const json = own.includes('--json');
  // Everything lockstep prints passes here: values from lease records, journals and echoed input
  // may hold control characters (escaped, so no terminal acts on them; JSON keeps the exact value).
  const fail = (error: unknown): number => {
    const failure = toLockstepError(error);
    if (json) io.out(safeJson({ schema_version: 1, ok: false, error: { code: failure.code, message: failure.message, hint: failure.hint } }));
    else io.err(safeLines(`lockstep: ${failure.format()}`));
    return exitCodeFor(failure);
  };
  const help = (arg: string) => arg === '--help' || arg === '-h';

  // The command words come first: `lockstep lock acquire --resource …`.
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  if (argv.length === 0) {
    io.out(usage());
    return EXIT_USAGE;
  }
  if (words.length === 0) {
    if (argv[0] === '--version') {
      io.out(require('../package.json').version);
      return EXIT_OK;
    }
    if (help(argv[0])) {
      io.out(usage());
      return EXIT_OK;
    }
    return fail(usageError(`Unknown option '${safeText(argv[0], 60)}'.`, 'Start with a command: run lockstep --help for the list.'));
  }

  const command = findCommand(words);
  if (!command) {
    const family = COMMANDS.filter((c) => c.words[0] === words[0]);
    if (family.length > 0 && words.length === 1) {
      if (argv.some(help)) {
        io.out(usage(family));
        return EXIT_OK;
      }
      return fail(usageError(`'lockstep ${words[0]}' needs a subcommand: ${family.map((c) => c.words.slice(1).join(' ')).join(', ')}.`, `Run lockstep ${words[0]} --help.`));
    }
    const known = family.length > 0 ? ` Run lockstep ${words[0]} --help.` : ' Run lockstep --help for the commands.';
    return fail(usageError(`Unknown command '${safeText(words.join(' '), 80)}'.`, known.trim()));
  }

  const rest = argv.slice(command.words.length);
  const dashDash = rest.indexOf('--');
  if ((dashDash === -1 ? rest : rest.slice(0, dashDash)).some(help)) {
    io.out(commandHelp(command));
    return EXIT_OK;
  }
  let parsed;
  const options: Record<string, OptionSpec> = { ...command.options, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } };
  try {
    parsed = parseArgs({
      args: joinDashValues(rest, options),
      allowPositionals: command.positionals === true,
      strict: true,
      options,
    });
  } catch (error) {
    return fail(usageError(parseErrorMessage(error, command), `Run ${commandName(command)} --help for its options.`));
  }
  try {
    const env = io.env ?? process.env;
    const context: CommandContext = { values: parsed.values as CommandContext['values'], positionals: parsed.positionals, io, env, json };
    const result = await command.run(context);
    if (json && result.data !== undefined) io.out(safeJson({ schema_version: 1, ok: true, data: result.data }));
    else if (!json && result.text !== undefined) io.out(safeLines(result.text));
    return result.exitCode ?? EXIT_OK;
  } catch (error) {
    return fail(error);
  }
}

function findCommand(words: string[]): Command | undefined {
  let best: Command | undefined;
  for (const command of COMMANDS) {
    const matches = command.words.every((w, i) => words[i] === w);
    if (matches && (!best || command.words.length > best.words.length)) best = command;
  }
  return best;
}

/** util.parseArgs messages are long and mention JavaScript; say it shortly. */
function parseErrorMessage(error: unknown, command: Command): string {
  const message = (error as Error).message ?? String(error);
  const code = errnoCode(error);
  const name = commandName(command);
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  const shown = (text: string) => safeText(text, 80);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `Unknown option '${shown(option ?? message)}' for ${name}.`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `Unexpected argument '${shown(/'([^']*)'/.exec(message)?.[1] ?? message)}' for ${name}.`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing/.test(message)) return `Option '${shown(option)}' of ${name} needs a value.`;
    // The next argument looks like an option: `--owner --json`, or a value that starts with '-'.
    if (/ambiguous/.test(message)) return `Option '${shown(option)}' of ${name} needs a value (to give one that starts with '-', write ${shown(option)}=-…).`;
    return `Option '${shown(option)}' of ${name} takes no value.`;
  }
  return shown(message);
}
