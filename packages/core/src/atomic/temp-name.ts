import { randomBytes } from 'crypto';
import * as path from 'path';

/**
 * Temp siblings are `.<name>.lstmp-<pid>-<8 hex>`: in the target's directory
 * (so the rename is atomic), hidden, and matched exactly by TEMP_FILE_PATTERN
 * so a sweep never touches a user's file.
 */
export const TEMP_FILE_PATTERN = /^\..*\.lstmp-\d+-[0-9a-f]{8}$/;

const MAX_BASE = 180;

export function tempSiblingPath(target: string): string {
  const base = path.basename(target).slice(0, MAX_BASE);
  return path.join(path.dirname(target), `.${base}.lstmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function isTempFileName(name: string): boolean {
  return TEMP_FILE_PATTERN.test(name);
}
