import { promises as fsp } from 'fs';
import * as path from 'path';
import { ErrorCodes, LockstepError, errnoCode } from '../errors';
import { npa } from './npm-libs';

export type Manifest = Record<string, unknown> & { name: string; version: string };

export interface SourceManifest {
  manifest: Manifest;
  /** The file's exact text, so an unchanged manifest is staged byte for byte. */
  text: string;
  file: string;
}

// semver.org's grammar: what a registry accepts as a version (no `v` prefix, no ranges).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Reads and checks `<packageDir>/package.json`: a JSON object with a valid name and an exact semver version, or EPACK. */
export async function readPackageManifest(packageDir: string): Promise<SourceManifest> {
  const file = path.join(packageDir, 'package.json');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    const missing = errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR';
    throw new LockstepError(ErrorCodes.EPACK, missing ? `There is no package.json in ${packageDir}.` : `Cannot read ${file}: ${(error as Error).message}`, {
      hint: missing ? 'Point packageRoot at the folder to publish; it must hold a package.json.' : 'Check the file exists and is readable.',
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new LockstepError(ErrorCodes.EPACK, `${file} is not valid JSON: ${(error as Error).message}`, {
      hint: `Fix the JSON syntax of ${file} (\`node -e "require('${file.replace(/\\/g, '/')}')"\` shows where it breaks).`,
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LockstepError(ErrorCodes.EPACK, `${file} does not hold a JSON object.`, { hint: 'A package.json is an object such as {"name": "x", "version": "1.0.0"}.' });
  }
  const manifest = parsed as Record<string, unknown>;
  const { name, version } = manifest;
  if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '') {
    const lacking = [typeof name !== 'string' || name === '' ? '"name"' : '', typeof version !== 'string' || version === '' ? '"version"' : ''].filter(Boolean).join(' and ');
    throw new LockstepError(ErrorCodes.EPACK, `${file} has no ${lacking}; a package needs both to be published.`, {
      hint: 'Add the missing field, or mark the project as not publishable (for example "private": true, or no publish target).',
    });
  }
  try {
    npa().resolve(name, version);
  } catch (error) {
    throw new LockstepError(ErrorCodes.EPACK, `${file}: ${(error as Error).message}`, {
      hint: 'Package names are lowercase, URL-safe, at most 214 characters, optionally scoped as @scope/name.',
      cause: error,
    });
  }
  if (!SEMVER.test(version)) {
    throw new LockstepError(ErrorCodes.EPACK, `${file}: version "${version}" of ${name} is not an exact semver version.`, {
      hint: 'Use a version such as 1.2.3 or 1.2.3-beta.1 (no "v" prefix, no range).',
    });
  }
  return { manifest: manifest as Manifest, text, file };
}
