import { createHash } from 'crypto';
import { clean } from 'semver';
import { FetchOptions, npa, npmFetch } from './npm-libs';

/**
 * An upload without libnpmpublish, for the uploads that need nothing but the
 * publish document (no provenance, no provenance file, not staged): the very
 * document libnpmpublish 11 builds (`publish`, `patchManifest`,
 * `buildMetadata`, same keys in the same order) sent by the same
 * npm-registry-fetch call (`PUT <registry><escaped name>`, the body as JSON,
 * the answer's body ignored). libnpmpublish brings sigstore, ci-info and
 * @npmcli/package-json, which a plain upload never uses; the uploads that do
 * use them still go through it (registry-client's default transport).
 *
 * Its refusals keep libnpmpublish's codes and messages (EPRIVATE, EUNSCOPED,
 * EBADSEMVER, an invalid name), so the client classifies them alike.
 */
export async function putPublish(manifest: Record<string, unknown>, tarball: Buffer, options: FetchOptions): Promise<unknown> {
  if (manifest.private) {
    throw Object.assign(
      new Error(`This package has been marked as private
Remove the 'private' field from the package.json to publish it.`),
      { code: 'EPRIVATE' },
    );
  }
  const spec = npa().resolve(String(manifest.name), String(manifest.version));
  const opts: FetchOptions = { access: 'public', algorithms: ['sha512'], defaultTag: 'latest', ...options, spec };
  const registry = npmFetch().pickRegistry(spec, opts);
  const document = publishDocument(manifest, tarball, { ...opts, registry });
  if (!spec.scope && opts.access === 'restricted') {
    throw Object.assign(new Error("Can't restrict access to unscoped packages."), { code: 'EUNSCOPED' });
  }
  return npmFetch()(spec.escapedName, { ...opts, method: 'PUT', body: document, ignoreBody: true });
}

/** libnpmpublish's publish document for `manifest` and its tarball (no provenance attachment). */
export function publishDocument(manifest: Record<string, unknown>, tarball: Buffer, opts: FetchOptions & { registry: string }): Record<string, unknown> {
  // patchManifest: _nodeVersion (and _npmVersion when npm says), the name trimmed and checked (normalize's fixName), the version cleaned.
  const patched: Record<string, unknown> = { ...manifest, _nodeVersion: process.versions.node };
  if (opts.npmVersion != null) patched._npmVersion = opts.npmVersion;
  if (typeof patched.name !== 'string') throw new Error('name field must be a string.');
  patched.name = patched.name.trim();
  const version = clean(String(patched.version));
  if (!version) throw Object.assign(new Error(`invalid semver: ${String(manifest.version)}`), { code: 'EBADSEMVER' });
  patched.version = version;

  // buildMetadata
  const name = patched.name as string;
  const root: Record<string, unknown> = {
    _id: name,
    name,
    description: patched.description,
    'dist-tags': {},
    versions: {},
    access: opts.access,
  };
  (root.versions as Record<string, unknown>)[version] = patched;
  const tag = (patched.tag as string | undefined) || (opts.defaultTag as string);
  (root['dist-tags'] as Record<string, unknown>)[tag] = version;
  const tarballName = `${name}-${version}.tgz`;
  const tarballURI = `${name}/-/${tarballName}`;
  patched._id = `${name}@${version}`;
  patched.dist = {
    ...(patched.dist as Record<string, unknown> | undefined),
    integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
    shasum: createHash('sha1').update(tarball).digest('hex'),
    tarball: new URL(tarballURI, opts.registry).href.replace(/^https:\/\//, 'http://'),
  };
  root._attachments = {
    [tarballName]: {
      content_type: 'application/octet-stream',
      data: tarball.toString('base64'),
      length: tarball.length,
    },
  };
  return root;
}
