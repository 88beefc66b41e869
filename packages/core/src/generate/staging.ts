import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { CommitFile } from '../atomic/commit-tree';
import { readdirOrEmptyAsync } from '../util/fs';
import { stagedNotRegularFileError } from './errors';

/**
 * A command writes into a staging dir beside outDir (same filesystem, so its
 * files can be renamed into place): `.<outDir name>.lockstep-stage-<pid>-<hex>`.
 */
export function stagingPrefix(outDir: string): string {
  return `.${path.basename(outDir)}.lockstep-stage-`;
}

export async function createStagingDir(outDir: string): Promise<string> {
  const dir = path.join(path.dirname(outDir), `${stagingPrefix(outDir)}${process.pid}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(dir, { recursive: true });
  return dir;
}

/** Removes staging dirs of outDir that killed runs left behind; call under outDir's lock. */
export async function sweepStagingDirs(outDir: string, keep?: string): Promise<number> {
  const parent = path.dirname(outDir);
  const prefix = stagingPrefix(outDir);
  const pattern = new RegExp(`^${escapeRegExp(prefix)}\\d+-[0-9a-f]{8}$`);
  let removed = 0;
  for (const name of await readdirOrEmptyAsync(parent)) {
    const full = path.join(parent, name);
    if (pattern.test(name) && full !== keep) {
      await fsp.rm(full, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** Lists a staging dir's regular files as commit entries. Symlinks and special files are refused. */
export async function listStagedFiles(stagingDir: string): Promise<CommitFile[]> {
  const files: CommitFile[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, childRel);
      else if (entry.isFile()) files.push({ path: childRel, source: { stagedPath: full } });
      else throw stagedNotRegularFileError(childRel);
    }
  };
  await walk(stagingDir, '');
  return files;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
