import { promises as fsp } from 'fs';
import * as path from 'path';
import { tempSiblingPath } from './temp-name';

/**
 * Atomic but not durable: write a temp sibling, then rename it over `target`.
 * Readers see the old bytes or the new bytes, never a mix. No fsync: for
 * output that can be regenerated after a power loss.
 */
export async function writeFileAtomicFast(target: string, data: string | Uint8Array, options: { mode?: number; tempDir?: string } = {}): Promise<void> {
  const { mode, tempDir } = options;
  // tempDir (same filesystem) keeps temp files out of the target's directory, so a
  // snapshot of that directory (an Nx cache copy) can never capture one.
  const temp = tempDir ? path.join(tempDir, path.basename(tempSiblingPath(target))) : tempSiblingPath(target);
  try {
    await fsp.writeFile(temp, data);
    // An explicit mode is set exactly (writeFile's would be masked by the umask), before the file is visible.
    if (mode !== undefined) await fsp.chmod(temp, mode);
    await fsp.rename(temp, target);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
}
