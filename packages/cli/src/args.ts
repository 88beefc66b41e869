import { parseDuration } from '@lockstep/core';

/** Where a command writes, and where it runs. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd: string;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface CommandContext {
  values: OptionValues;
  /** Arguments after the command words (only for commands that take them, e.g. after `--`). */
  positionals: string[];
  io: Io;
  env: NodeJS.ProcessEnv;
  json: boolean;
}

/**
 * What a command prints: `text` for people (nothing when undefined), `data`
 * as the JSON envelope's `data` (no envelope when undefined, for commands
 * whose output is another program's). `exitCode` overrides 0, e.g. the exit
 * code of a command run inside a group.
 */
export interface CommandOutput {
  data?: unknown;
  text?: string;
  exitCode?: number;
}

/**
 * One entry of the command table. `words` is how it is invoked
 * (`['lock', 'acquire']`); `--json` and `--help`/`-h` are added to every
 * command's options.
 */
export interface Command {
  words: string[];
  /** Arguments as shown in the command list, e.g. `--resource R [--ttl 30m]`. */
  synopsis: string;
  /** One line: what it does. */
  summary: string;
  /** The rest of `lockstep <words> --help`: options, JSON shape, examples. */
  help: string;
  options: Record<string, OptionSpec>;
  /** Accept positional arguments (e.g. `group run … -- <command>`). Default false. */
  positionals?: boolean;
  run(context: CommandContext): Promise<CommandOutput>;
}

export function commandName(command: Pick<Command, 'words'>): string {
  return `lockstep ${command.words.join(' ')}`;
}

export function commandHelp(command: Command): string {
  return `Usage: ${commandName(command)} ${command.synopsis}\n\n${command.summary}\n\n${command.help.trimEnd()}`;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A duration option (`--ttl 30m`): EBADDURATION for `30`, `abc`, `0s`, `-5m`, `1h1h`. */
export function durationOption(values: OptionValues, name: string, what: string): number | undefined {
  const text = stringOption(values, name);
  return text === undefined ? undefined : parseDuration(text, what);
}

/**
 * util.parseArgs refuses `--ttl -5m` as ambiguous (the value looks like an
 * option), so a negative duration would be reported as a missing value
 * instead of reaching the parser that says what is wrong with it. An option
 * that takes a value gets the next argument when that is `-` followed by a
 * digit (no option of lockstep looks like that): `--ttl -5m` becomes
 * `--ttl=-5m`. Arguments after `--` are left alone.
 */
export function joinDashValues(args: string[], options: Record<string, OptionSpec>): string[] {
  // Long options only: lockstep has no short option that takes a value.
  const takesValue = (arg: string): boolean => arg.startsWith('--') && options[arg.slice(2)]?.type === 'string';
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (!arg.includes('=') && takesValue(arg) && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
