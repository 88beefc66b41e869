import { createHash } from 'crypto';
import { FetchOptions, FetchResponse } from '../npm-libs';
import { RegistryTransport } from '../registry-client';
import { httpError } from './errors';

interface Stored {
  versions: Record<string, { dist: { integrity: string; tarball: string } }>;
  'dist-tags': Record<string, string>;
}

type Op = 'get' | 'publish' | 'dist-tag' | 'whoami';
/** A scripted failure: thrown instead of (or, with `applied`, after) doing the operation. */
interface Fault {
  op: Op;
  error: unknown;
  applied?: boolean;
}

function response(status: number, body: unknown): FetchResponse {
  return {
    status,
    headers: { get: () => null },
    json: async () => body,
    text: async () => JSON.stringify(body),
  };
}

/**
 * An in-memory registry implementing the client's transport, with scripted
 * faults, and a record of every call (operation, uri, the options passed).
 */
export class FakeRegistry implements RegistryTransport {
  readonly packages = new Map<string, Stored>();
  readonly calls: Array<{ op: Op; uri?: string; name?: string; version?: string; options: FetchOptions }> = [];
  /** Versions that exist only as "previously published" (unpublished): conflicts, never served. */
  readonly tombstones = new Set<string>();
  private faults: Fault[] = [];
  /** GETs of a version return 404 for this many reads after its publish (propagation delay). */
  invisibleReads = 0;
  /** What GET /-/whoami answers: a user name, null for 200 without one (Verdaccio for an unknown token), undefined for 404. */
  whoamiUser: string | null | undefined = undefined;
  private hidden = new Map<string, number>();

  fail(op: Op, error: unknown, applied = false): this {
    this.faults.push({ op, error, applied });
    return this;
  }

  uploads(name?: string): number {
    return this.calls.filter((c) => c.op === 'publish' && (name === undefined || c.name === name)).length;
  }

  seed(name: string, version: string, tarball: Buffer, tags: Record<string, string> = { latest: version }): void {
    const doc = this.packages.get(name) ?? { versions: {}, 'dist-tags': {} };
    doc.versions[version] = { dist: { integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`, tarball: `http://fake/${name}/-/${version}.tgz` } };
    Object.assign(doc['dist-tags'], tags);
    this.packages.set(name, doc);
  }

  private takeFault(op: Op): Fault | undefined {
    const i = this.faults.findIndex((f) => f.op === op);
    return i === -1 ? undefined : this.faults.splice(i, 1)[0];
  }

  async fetch(uri: string, options: FetchOptions): Promise<FetchResponse> {
    const method = String(options.method ?? 'GET');
    const url = new URL(uri);
    const tag = /^\/-\/package\/(.+)\/dist-tags\/(.+)$/.exec(url.pathname);
    if (method === 'PUT' && tag) {
      const name = decodeURIComponent(tag[1]);
      this.calls.push({ op: 'dist-tag', uri, name, options });
      const fault = this.takeFault('dist-tag');
      if (fault && !fault.applied) throw fault.error;
      const doc = this.packages.get(name);
      if (!doc) throw httpError(404, { method, url: uri });
      doc['dist-tags'][decodeURIComponent(tag[2])] = JSON.parse(String(options.body));
      if (fault) throw fault.error;
      return response(201, { ok: 'tagged' });
    }
    if (url.pathname === '/-/whoami') {
      this.calls.push({ op: 'whoami', uri, options });
      const fault = this.takeFault('whoami');
      if (fault) throw fault.error;
      if (this.whoamiUser === undefined) throw httpError(404, { method: 'GET', url: uri });
      return response(200, this.whoamiUser === null ? {} : { username: this.whoamiUser });
    }
    const name = decodeURIComponent(url.pathname.slice(1));
    this.calls.push({ op: 'get', uri, name, options });
    const fault = this.takeFault('get');
    if (fault) throw fault.error;
    const doc = this.packages.get(name);
    if (!doc) throw httpError(404, { method: 'GET', url: uri, body: { error: 'no such package available' } });
    const versions: Stored['versions'] = {};
    for (const [v, entry] of Object.entries(doc.versions)) {
      const left = this.hidden.get(`${name}@${v}`) ?? 0;
      if (left > 0) {
        this.hidden.set(`${name}@${v}`, left - 1);
        continue;
      }
      versions[v] = entry;
    }
    return response(200, { name, versions, 'dist-tags': { ...doc['dist-tags'] } });
  }

  async publish(manifest: Record<string, unknown>, tarball: Buffer, options: FetchOptions): Promise<unknown> {
    const name = String(manifest.name);
    const version = String(manifest.version);
    this.calls.push({ op: 'publish', name, version, options });
    const fault = this.takeFault('publish');
    if (fault && !fault.applied) throw fault.error;
    const doc = this.packages.get(name);
    if ((doc && doc.versions[version]) || this.tombstones.has(`${name}@${version}`)) {
      throw httpError(409, { body: { error: 'this package is already present' } });
    }
    this.seed(name, version, tarball, { [String(options.defaultTag ?? 'latest')]: version });
    if (this.invisibleReads > 0) this.hidden.set(`${name}@${version}`, this.invisibleReads);
    if (fault) throw fault.error;
    return response(201, {});
  }
}
