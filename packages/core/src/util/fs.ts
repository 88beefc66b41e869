import { promises as fsp, readdirSync } from 'fs';
import { errnoCode } from '../errors';

export interface ReaddirOrEmptyOptions {
  /**
   * 'missing' (default): [] only when `dir` does not exist (ENOENT); any other
   * error (EACCES, ENOTDIR, …) is thrown. 'unreadable': [] for any error, for
   * best-effort sweeps that must never fail the operation they tidy up after.
   */
  emptyWhen?: 'missing' | 'unreadable';
}

/** The names in `dir`, or [] when it does not exist (see `emptyWhen`). */
export function readdirOrEmpty(dir: string, options: ReaddirOrEmptyOptions = {}): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if (options.emptyWhen === 'unreadable' || errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** `readdirOrEmpty`, asynchronously. */
export async function readdirOrEmptyAsync(dir: string, options: ReaddirOrEmptyOptions = {}): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (error) {
    if (options.emptyWhen === 'unreadable' || errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** lstat of `target`, or undefined when nothing is there (ENOENT, or a file where a directory was expected: ENOTDIR). */
export async function lstatOrUndefined(target: string) {
  try {
    return await fsp.lstat(target);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}
