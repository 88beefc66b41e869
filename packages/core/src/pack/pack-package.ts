import { createHash } from 'crypto';
import { gzip } from 'zlib';
import { promisify } from 'util';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { npmPackError } from './errors';
import { packageJson, tar, tarCreateOptions } from './npm-libs';
import { Manifest } from './read-manifest';
import { StageOptions, StagedPackage, stagePackage } from './stage-package';

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

/**
 * Packs a package for publishing from its staged copy in memory, never from
 * (or into) the source folder: the tarball `npm pack` makes of a folder
 * holding stagePackage's files (pacote's DirFetcher: node-tar with a
 * `package/` prefix, portable headers, fixed mtimes, bins +x, gzip level 9),
 * made from the staged bytes without writing them anywhere first. No
 * lifecycle script runs. Its specs compare the bytes with `npm pack`'s.
 */
export async function packPackage(packageDir: string, options: PackOptions): Promise<PackResult> {
  const staged = await stagePackage(packageDir, options);
  // The staging root is still made (and left empty): callers sweep it, and a future pack may stage there again.
  await fsp.mkdir(path.resolve(options.stagingRoot ?? os.tmpdir()), { recursive: true });
  let tarball: Buffer;
  try {
    tarball = await tarPackage(packageDir, staged);
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
}

/** pacote's tar options for a folder: the prefix, the mtime and the bin rule come from there. */
type DirTarOptions = { prefix: string; mtime: Date; portable: boolean; gzip: { level: number }; filter(path: string, stat: { mode: number }): boolean };

/**
 * What node-tar's Pack writes for `tar.c(pacoteOptions, files)` over a folder
 * holding exactly the staged files, byte for byte: per file a PAX header when
 * the path does not fit ustar, the ustar header (portable: no uid, gid,
 * names or atime/ctime; mode through node-tar's portable mode fix after
 * pacote's bin rule; pacote's fixed mtime), the bytes padded to 512; then
 * 1024 zero bytes; gzipped at pacote's level with node-tar's portable gzip
 * header (OS byte 255). The bin rule reads the manifest pacote would read
 * (`bin` normalised by @npmcli/package-json: a string becomes
 * `{ name: path }`, `./` is dropped, `directories.bin` expands), so the
 * manifest is normalised only when it declares bins.
 */
async function tarPackage(packageDir: string, staged: StagedPackage): Promise<Buffer> {
  const raw: Record<string, unknown> = staged.manifest;
  const directories = raw.directories as { bin?: unknown } | undefined;
  // The source folder's package.json: the rewrite never touches bin or directories, and directories.bin globs a folder that has every packed file.
  const read = raw.bin || directories?.bin ? (await packageJson().normalize(path.resolve(packageDir), { steps: ['bin', 'binDir'] })).content : raw;
  const dirOptions = tarCreateOptions()({ ...read, _resolved: path.resolve(packageDir) }) as unknown as DirTarOptions;
  const prefix = dirOptions.prefix.replace(/\/+$/, '');
  const { Header, Pax } = tar();
  const blocks: Buffer[] = [];
  for (const file of staged.files) {
    const stat = { mode: file.mode };
    dirOptions.filter(file.path, stat);
    const entryPath = `${prefix}/${file.path.replace(/^\.(\/|$)/, '')}`;
    const header = new Header({ path: entryPath, mode: portableMode(stat.mode), size: file.data.length, mtime: dirOptions.mtime, type: 'File' });
    if (header.encode()) blocks.push(new Pax({ mtime: dirOptions.mtime, path: entryPath, size: header.size }).encode());
    blocks.push(header.block!, file.data);
    const pad = (512 - (file.data.length % 512)) % 512;
    if (pad > 0) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  // Off the event loop (a large package takes about 25 ms per MB at level 9): other packages' requests go on meanwhile.
  const gz = await gzipAsync(Buffer.concat(blocks), { level: dirOptions.gzip.level });
  gz[9] = 255;
  return gz;
}

const gzipAsync = promisify(gzip);

/** node-tar's mode fix for a portable archive (a file, not a directory). */
function portableMode(mode: number): number {
  return ((mode & 0o7777) | 0o600) & ~0o022;
}
