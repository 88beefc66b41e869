import { promises as fsp } from 'fs';
import * as path from 'path';
import { errnoCode } from '../errors';
import { emittedPathError, emittedPathTypeError, symlinkEscapeError } from './errors';

/**
 * Normalises a path a generator emitted into a posix path relative to outDir.
 * Refuses what could land outside outDir: absolute paths (posix or Windows),
 * `..` that climbs above outDir, NUL bytes, empty names.
 */
export function normalizeEmittedPath(emitted: string): string {
  const refuse = (why: string) => emittedPathError(emitted, why);
  if (typeof emitted !== 'string') throw emittedPathTypeError(emitted);
  if (emitted.length === 0) throw refuse('the path is empty');
  if (emitted.includes('\0')) throw refuse('the path contains a NUL byte');
  if (path.posix.isAbsolute(emitted) || path.win32.isAbsolute(emitted) || /^[a-zA-Z]:/.test(emitted)) {
    throw refuse('absolute paths are not allowed');
  }
  // `..` is resolved by name: `sub/../a.txt` is `a.txt`; only a climb above outDir is refused.
  const segments: string[] = [];
  for (const segment of emitted.split(/[\\/]+/)) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') segments.push(segment);
    else if (segments.pop() === undefined) throw refuse("'..' would leave outDir");
  }
  if (segments.length === 0) throw refuse('the path names outDir itself');
  return segments.join('/');
}

/**
 * Throws EOUTSIDE if `target` (inside `rootReal`, a realpath) would resolve
 * outside `rootReal` through a symlinked directory. Checks the deepest
 * existing ancestor, so it is safe to call before creating missing parents.
 */
export async function assertNoSymlinkEscape(rootReal: string, target: string): Promise<void> {
  let dir = path.dirname(target);
  for (;;) {
    try {
      const real = await fsp.realpath(dir);
      if (real !== rootReal && !real.startsWith(rootReal + path.sep)) {
        throw symlinkEscapeError(path.relative(rootReal, target), path.relative(rootReal, dir) || '.', real);
      }
      return;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') throw error;
      if (dir === rootReal) return;
      dir = path.dirname(dir);
    }
  }
}
