import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { writeFileDurable } from '../atomic/write-durable';
import { errnoCode } from '../errors';

/**
 * What lockstep has written into one outDir, kept outside it (an outDir is
 * deployed, cached and copied; this record is not). Prune removes only files
 * named here, so a file lockstep never wrote is never deleted.
 */
export interface OutDirManifest {
  schema_version: 1;
  outDir: string;
  /** Every path (posix, relative to outDir) a generation committed and that may still be there. */
  written: string[];
  /** Files found in outDir that lockstep did not write and was told about already. */
  reported: string[];
  updatedAt: string;
}

export function manifestPath(stateDir: string, realOutDir: string): string {
  const key = createHash('sha256').update(realOutDir).digest('hex').slice(0, 32);
  return path.join(stateDir, 'generate', `${key}.json`);
}

/** The manifest, or undefined if there is none (or it is unreadable: then nothing is pruned, which is safe). */
export async function readManifest(file: string, realOutDir: string): Promise<OutDirManifest | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as OutDirManifest;
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (parsed?.schema_version !== 1 || parsed.outDir !== realOutDir || !strings(parsed.written) || !strings(parsed.reported)) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

export async function writeManifest(file: string, manifest: Omit<OutDirManifest, 'schema_version' | 'updatedAt'>): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const record: OutDirManifest = { schema_version: 1, ...manifest, updatedAt: new Date().toISOString() };
  await writeFileDurable(file, `${JSON.stringify(record)}\n`);
}
