import { spawn } from 'child_process';
import { type Command, durationOption, stringOption } from '../args';
import { constants } from 'os';
import * as path from 'path';
import {
  ErrorCodes,
  LockHandle,
  acquireGroup,
  describeSupersede,
  hasControls,
  isLockstepError,
  killGraceFromEnv,
  readGroupStatus,
  safeLines,
  safeText,
} from '@lockstep/core';
import { commandStartError, usageError } from '../errors';
import { shownOwner } from './lock-status';

export interface GroupRunOptions {
  group: string;
  max: number;
  cancelInProgress: boolean;
  waitTimeoutMs: number;
  policy: 'require' | 'warn' | 'off';
  /** The command and its arguments (after `--`). */
  command: string[];
  err: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `lockstep group run --group G -- <command>`: waits for the group (FIFO, or
 * superseding the runs ahead), runs the command inside it with signals
 * forwarded, releases, and exits with the command's code (128 + n when a
 * signal ended it). Superseded itself, it passes SIGTERM on to the command,
 * and SIGKILLs it when the grace window is over.
 */
export async function groupRun(options: GroupRunOptions): Promise<number> {
  const { err, group } = options;
  // Wait and supersede messages name other runs (their owner files): escaped before they reach a terminal.
  const log = (line: string) => err(safeLines(`[lockstep] ${line}`));
  let handle: LockHandle | undefined;
  if (options.policy !== 'off') {
    try {
      handle = await acquireGroup({
        group,
        max: options.max,
        // --policy warn does not wait, so it does not supersede either
        cancelInProgress: options.cancelInProgress && options.policy === 'require',
        waitTimeoutMs: options.policy === 'warn' ? 0 : options.waitTimeoutMs,
        log,
        // Others see this (group status, wait and supersede messages): the program's name only,
        // since arguments can carry secrets (deploy.sh --token …).
        lock: { releaseOnSignals: 'while-waiting', command: `lockstep group run -- ${commandLabel(options.command)}` },
      });
    } catch (error) {
      if (options.policy === 'warn' && isLockstepError(error, ErrorCodes.ELOCKTIMEOUT)) {
        log(`!!! --policy warn: the group '${group}' is held by another live run; running WITHOUT it. The two may overlap.`);
      } else {
        throw error;
      }
    }
  }
  if (handle && handle.waitedMs > 1000) log(`Entered ${group} after ${Math.round(handle.waitedMs / 1000)} s.`);
  try {
    return await runChild(options, handle, log);
  } finally {
    await handle?.release();
  }
}

function runChild(options: GroupRunOptions, handle: LockHandle | undefined, log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const [file, ...args] = options.command;
    const child = spawn(file, args, { stdio: 'inherit', env: options.env ?? process.env });
    let killTimer: NodeJS.Timeout | undefined;
    const forward = (signal: NodeJS.Signals) => {
      const superseded = describeSupersede(handle);
      if (superseded && !killTimer) log(`This run of ${options.group} was ${superseded}; passing ${signal} on to the command.`);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      if (!killTimer) {
        const graceMs = killGraceFromEnv(options.env);
        killTimer = setTimeout(() => {
          log(`The command did not stop within ${Math.round(graceMs / 1000)} s of ${signal}: SIGKILL.`);
          child.kill('SIGKILL');
        }, graceMs);
        killTimer.unref();
      }
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    // Say it at once: the command goes on, but no longer inside the group.
    const onLost = () => {
      if (handle?.compromised) log(`!!! The hold on ${options.group} was lost while the command runs: ${(handle.signal.reason as Error)?.message}`);
    };
    handle?.signal.addEventListener('abort', onLost, { once: true });
    const cleanup = () => {
      handle?.signal.removeEventListener('abort', onLost);
      for (const signal of FORWARDED) process.removeListener(signal, forward);
      if (killTimer) clearTimeout(killTimer);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup();
      // As shells do: 127 when the program is not found, 126 when it cannot be run.
      const failure = commandStartError(file, error);
      options.err(safeLines(`lockstep: ${failure.format()}`));
      resolve(error.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1));
    });
  });
}

function commandLabel(command: string[]): string {
  const [file, ...args] = command;
  return `${path.basename(file)}${args.length ? ` (+${args.length} argument${args.length === 1 ? '' : 's'})` : ''}`;
}

/** `lockstep group status --group G`: the holders and the queue in admission order. */
export function groupStatus(group: string): { data: unknown; text: string } {
  const status = readGroupStatus({ group });
  const lines = [`${safeText(group)}: ${status.holders.length === 0 ? 'free' : `held by ${status.holders.length}`}`];
  for (const h of status.holders) lines.push(`  slot ${h.slot}: ${h.holder ? shownOwner(h.holder) : '(unreadable owner)'}${h.state === 'alive' ? '' : ` [${h.state}]`}`);
  status.queue.forEach((waiter, i) => lines.push(`  ${i + 1}. waiting: ${waiter ? shownOwner(waiter) : '(unreadable ticket)'}`));
  if (status.queue.length === 0) lines.push('  no waiters');
  return { data: status, text: lines.join('\n') };
}

const MAX_GROUP_NAME_LENGTH = 256;

const GROUP_HELP_COMMON = `  --group G                 the group's name (one per user and machine: the local lock directory)`;

function groupName(values: Record<string, unknown>): string {
  const group = stringOption(values as never, 'group')?.trim();
  if (!group) throw usageError('This command needs --group.', 'For example: lockstep group run --group deploy-prod -- ./deploy.sh');
  // The name is shown to every other run of the group (status, wait messages): short and printable.
  if (hasControls(group) || group.length > MAX_GROUP_NAME_LENGTH) {
    throw usageError(
      `The group name '${safeText(group, 60)}' ${hasControls(group) ? 'contains control characters' : `is too long (${group.length} characters)`}.`,
      `Use a short printable name (at most ${MAX_GROUP_NAME_LENGTH} characters, no control characters), e.g. --group deploy-prod.`,
    );
  }
  return group;
}

export const groupCommands: Command[] = [
  {
    words: ['group', 'run'],
    synopsis: '--group G [--max N] [--cancel-in-progress] [--wait-timeout 1h] [--policy require|warn|off] -- <command> [args…]',
    summary: "Runs a command inside a concurrency group: waits in arrival order (or supersedes the runs ahead), forwards signals, exits with the command's code.",
    options: {
      group: { type: 'string' },
      max: { type: 'string' },
      'cancel-in-progress': { type: 'boolean', default: false },
      'wait-timeout': { type: 'string' },
      policy: { type: 'string', default: 'require' },
    },
    positionals: true,
    help: [
      'Options:',
      GROUP_HELP_COMMON,
      '  --max N                   runs inside the group at once (default 1; every run of the group must agree)',
      '  --cancel-in-progress      supersede the runs ahead: SIGTERM, then SIGKILL after LOCKSTEP_KILL_GRACE_MS (30 s)',
      '  --wait-timeout D          give up waiting after D (30s, 15m, 2h; default 1h): exit 4',
      '  --policy P                require (default): hold the group or wait; warn: if it is held, say so and run anyway; off: no group',
      '',
      "While waiting it prints 'Waiting for <group> (N ahead, held by <pid>@<host> since <time>)' every 10 s on stderr.",
      'The command runs directly (no shell): use sh -c "…" for shell syntax. Its output passes through untouched;',
      "lockstep's own lines go to stderr, prefixed [lockstep]. --json has no effect here.",
      '',
      'Exit codes: the command\'s (128 + n if signal n ended it), 4 if the wait timed out, 2 on usage errors.',
    ].join('\n'),
    run: async (context) => {
      const group = groupName(context.values);
      if (context.positionals.length === 0) throw usageError('group run needs the command to run after --.', 'For example: lockstep group run --group deploy -- ./deploy.sh --prod');
      const maxText = stringOption(context.values, 'max');
      const max = maxText === undefined ? 1 : Number(maxText);
      if (!Number.isInteger(max) || max < 1) throw usageError(`--max must be a whole number ≥ 1, not '${maxText}'.`, 'For example --max 3.');
      const policy = stringOption(context.values, 'policy') ?? 'require';
      if (policy !== 'require' && policy !== 'warn' && policy !== 'off') throw usageError(`--policy must be require, warn or off, not '${policy}'.`, 'Leave it out for require.');
      const exitCode = await groupRun({
        group,
        max,
        cancelInProgress: context.values['cancel-in-progress'] === true,
        waitTimeoutMs: durationOption(context.values, 'wait-timeout', '--wait-timeout') ?? 60 * 60_000,
        policy,
        command: context.positionals,
        err: context.io.err,
        env: context.env,
      });
      return { exitCode };
    },
  },
  {
    words: ['group', 'status'],
    synopsis: '--group G',
    summary: 'Who holds a concurrency group (each slot) and who waits, in admission order.',
    options: { group: { type: 'string' } },
    help: ['Options:', GROUP_HELP_COMMON, '', 'JSON data: { group, key, path, state, holders: [{ slot, state, holder }], queue: [owner…] } (owners without tokens).'].join('\n'),
    run: async (context) => groupStatus(groupName(context.values)),
  },
];
