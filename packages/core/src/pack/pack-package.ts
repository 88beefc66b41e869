import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mapLimit } from '../util/map-limit';
import { npmPackError } from './errors';
import { packageJson, tarCreate, tarCreateOptions } from './npm-libs';
import { Manifest } from './read-manifest';
import { StageOptions, stagePackage } from './stage-package';

export interface PackOptions extends StageOptions {
  /** Where the temporary staging folder is made (and removed). Default: the OS temp dir. */
  stagingRoot?: string;
}

export interface PackResult {
  /** The rewritten manifest, as in the tarball's package.json. */
  manifest: Manifest;
  tarball: Buffer;
  /** sha512 SRI of the tarball bytes, computed here: what the registry must report after upload. */
  integrity: string;
  /** sha1 hex of the tarball (the registry's legacy `dist.shasum`). */
  shasum: string;
  /** Paths in the tarball, relative to `package/`. */
  files: string[];
  /** Tarball bytes. */
  size: number;
  /** Sum of the packed files' bytes. */
  unpackedSize: number;
}

const WRITE_CONCURRENCY = 16;

/**
 * Packs a package for publishing from a staged copy, never from (or into) the
 * source folder: stagePackage's files are written to a fresh folder under
 * `stagingRoot`, packed there by node-tar with pacote's own options for a
 * folder (what `npm pack` does: `package/` prefix, portable headers, fixed
 * mtimes, gzip level 9, bins +x, so the same content gives the same bytes),
 * and the folder is removed however it ends. No lifecycle script runs.
 * libnpmpack would list the files again (Arborist + npm-packlist) and read
 * the manifest through pacote: the list and the manifest are already here.
 */
export async function packPackage(packageDir: string, options: PackOptions): Promise<PackResult> {
  const staged = await stagePackage(packageDir, options);
  const stagingRoot = path.resolve(options.stagingRoot ?? os.tmpdir());
  await fsp.mkdir(stagingRoot, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(stagingRoot, 'lockstep-pack-'));
  try {
    const pkgDir = path.join(tmp, 'package');
    await mapLimit(staged.files, WRITE_CONCURRENCY, async (file) => {
      const target = path.join(pkgDir, ...file.path.split('/'));
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.writeFile(target, file.data, { mode: file.mode });
      // writeFile's mode passes through the umask; the tarball must carry the source's bits.
      await fsp.chmod(target, file.mode);
    });
    let tarball: Buffer;
    try {
      tarball = await tarPackage(pkgDir, staged.manifest, staged.files.map((f) => f.path));
    } catch (error) {
      throw npmPackError(staged.manifest.name, staged.manifest.version, error);
    }
    return {
      manifest: staged.manifest,
      tarball,
      integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
      shasum: createHash('sha1').update(tarball).digest('hex'),
      files: staged.files.map((f) => f.path),
      size: tarball.length,
      unpackedSize: staged.files.reduce((sum, f) => sum + f.data.length, 0),
    };
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The gzipped tarball of `files` (npm-packlist's list, in its order) under
 * `dir`, as pacote's DirFetcher makes it. Its bin rule reads the manifest
 * pacote would read (`bin` normalised by @npmcli/package-json: a string
 * becomes `{ name: path }`, `./` is dropped, `directories.bin` expands), so
 * the manifest is normalised only when it declares bins.
 */
async function tarPackage(dir: string, manifest: Manifest, files: string[]): Promise<Buffer> {
  const raw: Record<string, unknown> = manifest;
  const directories = raw.directories as { bin?: unknown } | undefined;
  const read = raw.bin || directories?.bin ? (await packageJson().normalize(dir, { steps: ['bin', 'binDir'] })).content : raw;
  return tarCreate()({ ...tarCreateOptions()({ ...read, _resolved: dir }) }, files).concat();
}
