import { promises as fsp } from 'fs';
import * as path from 'path';
import { errnoCode } from '../errors';
import { isTempFileName } from './temp-name';

/**
 * Removes temp files a killed run leaked under `dir` (recursively), matched
 * by the exact temp-sibling pattern. Call it only while holding the lock of
 * `dir`: a live writer's temp file matches the pattern too.
 */
export async function sweepTempFiles(dir: string): Promise<number> {
  let removed = 0;
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return 0;
    throw error;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      removed += await sweepTempFiles(full);
    } else if (isTempFileName(entry.name)) {
      await fsp.rm(full, { force: true });
      removed++;
    }
  }
  return removed;
}
