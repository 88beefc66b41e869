import { execFile } from 'child_process';
import { existsSync } from 'fs';
import type { LockstepError } from '../errors';
import { gitCommandError, gitCwdMissingError, gitNotFoundError, gitTimeoutError } from './errors';

/**
 * Runs git for the git lease backend: async, never prompting
 * (GIT_TERMINAL_PROMPT=0, stdin closed), in the C locale (so messages
 * parse), with an identity so `commit-tree` works without user config (the
 * caller sets the dates). Failures become EGIT with a hint; credentials in
 * URLs never reach a message.
 */

export interface GitRunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Written to git's stdin. */
  input?: string;
  /** Exit codes that are not failures (e.g. push: 1 when a lease was refused). Default [0]. */
  okCodes?: number[];
  timeoutMs: number;
  /** Binary stdout (cat-file --batch sizes are in bytes). */
  binary?: boolean;
}

export interface GitResult {
  code: number;
  stdout: string;
  stdoutBytes?: Buffer;
  stderr: string;
}

export function gitEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...base,
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    LANGUAGE: 'C',
    GIT_AUTHOR_NAME: 'lockstep',
    GIT_AUTHOR_EMAIL: 'lockstep@localhost',
    GIT_COMMITTER_NAME: 'lockstep',
    GIT_COMMITTER_EMAIL: 'lockstep@localhost',
  };
}

export function runGit(args: string[], options: GitRunOptions): Promise<GitResult> {
  const okCodes = options.okCodes ?? [0];
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        cwd: options.cwd,
        env: options.env,
        encoding: 'buffer',
        maxBuffer: 256 * 1024 * 1024,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
      },
      (error, stdoutBuf, stderrBuf) => {
        const stdoutBytes = stdoutBuf as unknown as Buffer;
        const stdout = options.binary ? '' : stdoutBytes.toString('utf8');
        const stderr = (stderrBuf as unknown as Buffer).toString('utf8');
        if (!error) return resolve({ code: 0, stdout, stdoutBytes, stderr });
        const err = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string };
        if (typeof err.code === 'number' && okCodes.includes(err.code)) {
          return resolve({ code: err.code, stdout, stdoutBytes, stderr });
        }
        reject(gitFailure(args, options, err, stderr));
      },
    );
    child.stdin?.on('error', () => undefined); // git may exit before reading all input; the exit code tells
    // Always close stdin: nothing git starts (a credential helper, ssh) may wait on it.
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

function gitFailure(
  args: string[],
  options: GitRunOptions,
  err: NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string },
  stderr: string,
): LockstepError {
  // `git -c k=v fetch …`: name the subcommand, not the -c.
  const what = `git ${args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? args[0]}`;
  if (err.code === 'ENOENT' && !existsSync(options.cwd)) return gitCwdMissingError(options.cwd);
  if (err.code === 'ENOENT') return gitNotFoundError(what);
  if (err.killed || err.signal) return gitTimeoutError(what, options.timeoutMs);
  const code = typeof err.code === 'number' ? `exit code ${err.code}` : String(err.code ?? err.message);
  return gitCommandError(what, code, stderr, options.cwd);
}
