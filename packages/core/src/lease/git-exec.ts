import { execFile } from 'child_process';
import { existsSync } from 'fs';
import { ErrorCodes, LockstepError } from '../errors';

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

/** `https://user:token@host/x` → `https://***@host/x`, also inside longer text. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]+@/gi, '$1***@');
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
  if (err.code === 'ENOENT' && !existsSync(options.cwd)) {
    return new LockstepError(ErrorCodes.EGIT, `The directory ${options.cwd} for the git lease backend does not exist.`, {
      hint: 'Pass the path of a clone of the shared repository as cwd.',
    });
  }
  if (err.code === 'ENOENT') {
    return new LockstepError(ErrorCodes.EGIT, `Could not run git for the git lease backend (${what}): git was not found.`, {
      hint: 'Install git and make sure it is on PATH, or use the local lease backend on a single machine.',
    });
  }
  if (err.killed || err.signal) {
    return new LockstepError(ErrorCodes.EGIT, `${what} did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped.`, {
      hint: 'The remote did not answer in time. Check the network and the remote (git ls-remote <remote>), then run again; a lease this run may have created expires on its own after its TTL.',
    });
  }
  const code = typeof err.code === 'number' ? `exit code ${err.code}` : String(err.code ?? err.message);
  return gitCommandError(what, code, stderr, options.cwd);
}

/** EGIT for a git command that failed: the last lines of its stderr (URL credentials removed) and a hint. */
export function gitCommandError(what: string, status: string, stderr: string, cwd: string): LockstepError {
  const detail = redactUrls(
    stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^(hint:|To |From )/.test(l))
      .slice(-4)
      .join(' | '),
  );
  return new LockstepError(ErrorCodes.EGIT, `${what} failed (${redactUrls(status)})${detail ? `: ${detail}` : '.'}`, {
    hint: gitHint(stderr, cwd),
  });
}

function gitHint(stderr: string, cwd: string): string {
  const s = stderr.toLowerCase();
  if (s.includes('not a git repository') && !s.includes('does not appear to be')) {
    return `The git lease backend runs in a clone of the shared repository; ${cwd} is not inside one. Run from the clone or pass its path as cwd.`;
  }
  if (s.includes('does not appear to be a git repository') || s.includes('no such remote') || s.includes('could not read from remote')) {
    return `Check the remote the leases live on: \`git remote -v\` in ${cwd} must list it (default "origin"), it must be reachable, and every machine must use the same one.`;
  }
  if (/authentication failed|could not read (username|password)|terminal prompts disabled|permission denied|403|401|access denied|not authorized/.test(s)) {
    return 'git could not authenticate to the remote (prompts are off). Give this job read and push rights to refs/lockstep/* (a credential helper, a token in the remote URL, or an SSH key).';
  }
  if (/could not resolve host|unable to access|connection (refused|timed out|reset)|network is unreachable|failed to connect/.test(s)) {
    return 'The remote could not be reached. Check the network and the remote URL (`git remote -v`), then run again.';
  }
  if (/deny|declined|hook|protected|refusing/.test(s)) {
    return 'The remote refused the update of refs/lockstep/locks/*. Allow this job to create, force-update and delete refs under refs/lockstep/ (server hooks, receive.denyNonFastForwards, receive.denyDeletes).';
  }
  return `Run the same git command by hand in ${cwd} to see what fails; the remote must allow reading and pushing refs/lockstep/locks/*.`;
}
