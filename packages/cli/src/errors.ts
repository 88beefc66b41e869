import { ErrorCodes, LockstepError, errnoCode, safeText } from '@lockstep/core';

/**
 * Every error the CLI itself raises (the rest come from @lockstep/core).
 * The convention is core's (errors.ts): `<situation>Error(...)` factories
 * that return a LockstepError with its code and hint.
 */

/** EBADOPTIONS (exit 2): the command line cannot work; `message` and `hint` say why and what to type. */
export function usageError(message: string, hint: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, message, { hint });
}

/** ECOMMAND: `group run` could not start its command (exit 127 not found, 126 not runnable). */
export function commandStartError(file: string, error: Error): LockstepError {
  return new LockstepError(ErrorCodes.ECOMMAND, `Could not start '${safeText(file, 200)}': ${safeText(error.message, 400)}`, {
    hint: 'Check the command after -- (it is run directly, not through a shell; use sh -c "…" for shell syntax).',
  });
}

/** EGIT: `--backend git` without git on PATH. */
export function gitMissingError(): LockstepError {
  return new LockstepError(ErrorCodes.EGIT, 'git leases need git, and git was not found.', { hint: 'Install git, or use --backend local.' });
}

/** EGIT: `--backend git` outside a git working tree. */
export function notInGitTreeError(cwd: string, stderr: string): LockstepError {
  return new LockstepError(ErrorCodes.EGIT, `${cwd} is not inside a git working tree${stderr ? ` (${stderr.split('\n')[0]})` : ''}.`, {
    hint: 'Run it in a clone of the repository whose remote holds the leases, or use --backend local.',
  });
}

// ------------------------------------------------------------------- state

const CACHE_DIR_HINT = "Pass --cache-dir the directory Nx keeps its cache in (e.g. .nx/cache), or leave it out to use the workspace's.";
const OR_CACHE_DIR = `${CACHE_DIR_HINT[0].toLowerCase()}${CACHE_DIR_HINT.slice(1)}`;

/** EBADOPTIONS: --target is not a target name. */
export function targetNameError(target: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `'${safeText(target, 60)}' is not a target name.`, { hint: 'Use the name of the publish target, e.g. --target publish.' });
}

/** EBADOPTIONS: --cache-dir is a dangling symlink, not a directory, or cannot be used (`error`). */
export function cacheDirError(dir: string, problem: 'dangling' | 'not-a-directory' | { error: unknown }): LockstepError {
  const shown = safeText(dir, 300);
  if (problem === 'dangling') return new LockstepError(ErrorCodes.EBADOPTIONS, `--cache-dir ${shown} is a symlink to nothing (dangling).`, { hint: CACHE_DIR_HINT });
  if (problem === 'not-a-directory') return new LockstepError(ErrorCodes.EBADOPTIONS, `--cache-dir ${shown} is not a directory.`, { hint: CACHE_DIR_HINT });
  return new LockstepError(ErrorCodes.EBADOPTIONS, `--cache-dir ${shown} cannot be used (${errnoCode(problem.error) ?? String(problem.error)}).`, { hint: CACHE_DIR_HINT, cause: problem.error });
}

const FS_WHY: Record<string, string> = {
  ENOTDIR: 'read (a file is where a directory should be)',
  EISDIR: 'read (a directory is where a file should be)',
  EACCES: 'read or changed (permission denied)',
  EPERM: 'changed (not permitted)',
  EROFS: 'changed (read-only file system)',
};

/** EBADOPTIONS: the file system refused the journal under the cache dir (`code` of `error`, at `at`). */
export function journalAccessError(target: string, dir: string, at: string, code: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `The publish journal of '${target}' in ${safeText(dir, 300)} cannot be ${FS_WHY[code] ?? 'used'}: ${safeText(at, 300)} (${code}).`, {
    hint:
      code === 'ENOTDIR' || code === 'EISDIR'
        ? `Something other than a directory is in the way; check the path, or ${OR_CACHE_DIR}`
        : `Check the permissions of ${safeText(dir, 300)}, or ${OR_CACHE_DIR}`,
    cause: error,
  });
}

/** EBADOPTIONS: no Nx workspace (no @nx/devkit) to find the cache directory from. */
export function noNxWorkspaceError(cwd: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `No Nx workspace with @nx/devkit found from ${cwd}.`, {
    hint: 'Run it inside the workspace, or pass --cache-dir <Nx cache directory>.',
  });
}
