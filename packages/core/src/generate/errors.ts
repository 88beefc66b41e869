import { ErrorCodes, LockstepError } from '../errors';

/** The errors of generate/: outDir's checks and the generator or command that produces the files (see errors.ts for the convention). */

/** EOUTDIRUNSAFE: outDir's real path is not a place lockstep may own. `shown` names it as given (and really). */
export function outDirRefusedError(shown: string, why: string, hint: string): LockstepError {
  return new LockstepError(ErrorCodes.EOUTDIRUNSAFE, `Refusing outDir ${shown}: ${why}.`, { hint });
}

/** EOUTDIRUNSAFE: outDir resolves elsewhere than when the run started (a link along it was re-pointed). */
export function outDirRepointedError(given: string, was: string): LockstepError {
  return new LockstepError(ErrorCodes.EOUTDIRUNSAFE, `outDir ${given} led to ${was} when this run started and leads elsewhere now: a link along it was re-pointed.`, {
    hint: 'Nothing was written. Find what re-points links in that path, then run again.',
  });
}

/** EOUTDIRUNSAFE: following outDir's links runs in a loop. */
export function outDirLinkLoopError(outDir: string, at: string): LockstepError {
  return new LockstepError(ErrorCodes.EOUTDIRUNSAFE, `outDir ${outDir} runs into a loop of symbolic links at ${at}.`, { hint: 'Remove the looping link.' });
}

/** EOUTDIRUNSAFE: a file lies where a directory of outDir's path would be created. */
export function outDirBlockedByFileError(outDir: string, file: string): LockstepError {
  return new LockstepError(ErrorCodes.EOUTDIRUNSAFE, `outDir ${outDir} cannot be created: ${file} is a file.`, { hint: 'Point outDir at a directory, or remove the file in its way.' });
}

/** EGENERATOR: the generator ended the process (process.exit) before it finished; said as the process exits. */
export function generatorExitedError(name: string, code: number): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The generator ${name} ended the process (exit code ${code}) before it finished.`, {
    hint: 'outDir was left as it was. A generator returns its files or throws; it never calls process.exit.',
  });
}

/** EGENERATOR: the generator threw. */
export function generatorFailedError(name: string, error: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The generator ${name} failed: ${(error as Error)?.message ?? String(error)}`, {
    hint: 'outDir was left as it was. Fix the generator and run again.',
    cause: error,
  });
}

const RESULT_HINT = 'Return { "path/in/outDir": "content" } (or a Map, or [path, content] pairs), or call ctx.emit(path, content) and return nothing.';

/** EGENERATOR: a file's content is neither text nor bytes. */
export function generatorContentError(name: string, file: unknown, content: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The generator ${name} gave ${content === null ? 'null' : typeof content} as the content of '${String(file)}'; expected a string or bytes.`, {
    hint: RESULT_HINT,
  });
}

/** EGENERATOR: the generator returned something that is not its files (`what` describes it). */
export function generatorResultError(name: string, what: string): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The generator ${name} returned ${what}; expected the files it produced.`, { hint: RESULT_HINT });
}

/** EGENERATOR: the `command` could not be started. */
export function commandStartError(command: string, error: Error): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `Could not start the command '${command}': ${error.message}`, { hint: 'Check the command option.' });
}

/** EGENERATOR: the `command` exited non-zero or was killed. */
export function commandFailedError(command: string, code: number | null, signal: string | null): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The command '${command}' ${signal ? `was killed by ${signal}` : `exited with code ${code}`}.`, {
    hint: 'outDir was left as it was. Its output above says why it failed.',
  });
}

/** EGENERATOR: the command wrote a symlink or a special file into its staging dir. */
export function stagedNotRegularFileError(rel: string): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The command wrote '${rel}', which is not a regular file (symlinks and special files are not committed).`, {
    hint: 'Write a copy of the file into $LOCKSTEP_OUT_DIR instead of a link.',
  });
}
