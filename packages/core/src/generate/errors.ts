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

/** ESTASH: the stash of a cached generate target does not hold one whole generation of the task hash the sync step expects. */
export function stashMismatchError(stashDir: string, why: string): LockstepError {
  return new LockstepError(ErrorCodes.ESTASH, `The stash ${stashDir} is not the generation this run expects: ${why}.`, {
    hint: 'outDir was left as it was. Something other than lockstep changed the stash (or Nx restored another entry into it): run the target again with --skip-nx-cache, and if it recurs, nx reset.',
  });
}

/** EBADOPTIONS: the step that brings outDir up to date from the stash is itself cached with outDir among its outputs, so Nx would restore outDir wholesale. */
export function cachedSyncTargetError(target: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `${target} brings outDir up to date from its stash and must not be cached itself ("cache": true, with outDir in "outputs"): Nx would then restore outDir by deleting and copying it.`, {
    hint: 'Remove "cache" and "outputs" from this target (and from targetDefaults.generate in nx.json, where an older init wrote them): the stash target it depends on is what Nx caches.',
  });
}

/** EGENERATOR: the generator emitted a file with a mode that is not permission bits. */
export function generatorModeError(name: string, file: string, mode: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The generator ${name} gave ${JSON.stringify(mode)} as the mode of '${file}'.`, {
    hint: 'outDir was left as it was. A mode is permission bits as a number, such as 0o755 or 0o644.',
  });
}
