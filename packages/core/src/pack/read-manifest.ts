import { promises as fsp } from 'fs';
import * as path from 'path';
import { manifestBadNameError, manifestBadVersionError, manifestBuildMetadataError, manifestFieldsMissingError, manifestNotJsonError, manifestNotObjectError, manifestUnreadableError } from './errors';
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

/** Reads and checks `<packageDir>/package.json`: a JSON object with a valid name and an exact semver version without build metadata, or EPACK / EBADMANIFEST. */
export async function readPackageManifest(packageDir: string): Promise<SourceManifest> {
  const file = path.join(packageDir, 'package.json');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    throw manifestUnreadableError(packageDir, file, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw manifestNotJsonError(file, error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw manifestNotObjectError(file);
  }
  const manifest = parsed as Record<string, unknown>;
  const { name, version } = manifest;
  if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '') {
    const lacking = [typeof name !== 'string' || name === '' ? '"name"' : '', typeof version !== 'string' || version === '' ? '"version"' : ''].filter(Boolean).join(' and ');
    throw manifestFieldsMissingError(file, lacking);
  }
  try {
    npa().resolve(name, version);
  } catch (error) {
    throw manifestBadNameError(file, error);
  }
  if (!SEMVER.test(version)) {
    throw manifestBadVersionError(file, name, version);
  }
  // The registry drops build metadata (libnpmpublish cleans 1.0.0+build.7 to 1.0.0): the version asked for would never appear.
  if (version.includes('+')) {
    throw manifestBuildMetadataError(file, name, version);
  }
  return { manifest: manifest as Manifest, text, file };
}
