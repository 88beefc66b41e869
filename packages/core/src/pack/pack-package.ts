import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mapLimit } from '../util/map-limit';
import { npmPackError } from './errors';
import { libnpmpack, ssri } from './npm-libs';
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
 * `stagingRoot`, packed there by libnpmpack without lifecycle scripts (npm's
 * own tar layout: fixed mtimes, portable headers, gzip level 9, so the same
 * content gives the same bytes), and the folder is removed however it ends.
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
      tarball = await libnpmpack()(pkgDir, { ignoreScripts: true });
    } catch (error) {
      throw npmPackError(staged.manifest.name, staged.manifest.version, error);
    }
    return {
      manifest: staged.manifest,
      tarball,
      integrity: ssri().fromData(tarball, { algorithms: ['sha512'] }).toString(),
      shasum: createHash('sha1').update(tarball).digest('hex'),
      files: staged.files.map((f) => f.path),
      size: tarball.length,
      unpackedSize: staged.files.reduce((sum, f) => sum + f.data.length, 0),
    };
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}
