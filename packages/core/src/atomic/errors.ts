import { ErrorCodes, LockstepError } from '../errors';

/** The errors of atomic/: confinement of emitted paths and the commit into outDir (see errors.ts for the convention). */

const EMIT_HINT = 'Emit paths relative to outDir, such as "index.ts" or "lib/util.ts".';

/** EOUTSIDE: an emitted path that is empty, absolute or climbs out of outDir. */
export function emittedPathError(emitted: string, why: string): LockstepError {
  return new LockstepError(ErrorCodes.EOUTSIDE, `Refusing to write '${emitted}': ${why}.`, { hint: EMIT_HINT });
}

/** EGENERATOR: an emitted path that is not a string. */
export function emittedPathTypeError(emitted: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The generator emitted a path of type ${emitted === null ? 'null' : typeof emitted}; paths are strings.`, { hint: EMIT_HINT });
}

/** EOUTSIDE: a directory on the way to an emitted file is a symlink leading out of outDir. */
export function symlinkEscapeError(target: string, link: string, real: string): LockstepError {
  return new LockstepError(ErrorCodes.EOUTSIDE, `Refusing to write '${target}': '${link}' is a symlink to '${real}', outside outDir.`, {
    hint: 'Remove the symlink from outDir, or emit the file somewhere else.',
  });
}

/** EOUTDIRCHANGED: files of outDir vanished under the commit (something else writes there, e.g. an Nx cache restore). */
export function outDirChangedError(outDir: string, cause: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EOUTDIRCHANGED, `Another process removed or replaced files in ${outDir} while lockstep was writing it (${(cause as Error).message}).`, {
    hint: 'Something outside lockstep writes to outDir: for example Nx restoring this target from its cache (without the Nx daemon it deletes and re-copies outputs). Run again; see the README on Nx cache restores.',
    cause,
  });
}

/** EGENERATOR: one path emitted both as a file and as a directory. */
export function fileAndDirectoryError(dir: string): LockstepError {
  return new LockstepError(ErrorCodes.EGENERATOR, `The generator emitted '${dir}' both as a file and as a directory.`, {
    hint: `Rename either '${dir}' or the files under '${dir}/'.`,
  });
}
