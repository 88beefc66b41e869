import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, LockstepError } from '../errors';

export const LEASE_NAMESPACES = ['package', 'path', 'group', 'repo'] as const;
export type LeaseNamespace = (typeof LEASE_NAMESPACES)[number];

export interface LeaseResource {
  namespace: LeaseNamespace;
  /** For path: a normalised posix path, absolute, or relative to `root` when one was given. */
  name: string;
  /** `<namespace>:<name>`: what is stored and hashed. */
  id: string;
}

export interface ParseResourceOptions {
  /** Relative path: names resolve against this. Default process.cwd(). */
  cwd?: string;
  /**
   * Store path: names relative to this directory (the git backend passes the
   * repository's top level, so clones at different places agree). A path
   * outside it is refused.
   */
  root?: string;
}

const HINT = 'Use package:<name>, path:<dir>, group:<name> or repo:<name>, e.g. --resource package:@acme/api';

/** Parses `--resource` text. EBADRESOURCE for an unknown namespace or an empty name. */
export function parseResource(raw: string, options: ParseResourceOptions = {}): LeaseResource {
  const text = String(raw ?? '').trim();
  const colon = text.indexOf(':');
  const namespace = colon > 0 ? text.slice(0, colon) : '';
  if (!(LEASE_NAMESPACES as readonly string[]).includes(namespace)) {
    throw new LockstepError(
      ErrorCodes.EBADRESOURCE,
      colon > 0 ? `Unknown resource namespace '${namespace}:' in '${text}'.` : `The resource '${text}' has no namespace.`,
      { hint: HINT },
    );
  }
  let name = text.slice(colon + 1).trim();
  if (name === '') throw new LockstepError(ErrorCodes.EBADRESOURCE, `The resource '${text}' has an empty name.`, { hint: HINT });
  if (namespace === 'path') name = canonicalPath(name, options);
  return { namespace: namespace as LeaseNamespace, name, id: `${namespace}:${name}` };
}

function canonicalPath(name: string, options: ParseResourceOptions): string {
  const absolute = path.resolve(options.cwd ?? process.cwd(), name);
  if (!options.root) return toPosix(absolute);
  const relative = path.relative(path.resolve(options.root), absolute);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new LockstepError(ErrorCodes.EBADRESOURCE, `The path '${name}' is outside the repository ${options.root}.`, {
      hint: 'A git lease names paths inside the repository, so that every clone means the same directory.',
    });
  }
  return relative === '' ? '.' : toPosix(relative);
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Parses a stored id (`ns:name`) without resolving paths again. */
export function resourceFromId(id: string): LeaseResource {
  const colon = id.indexOf(':');
  const namespace = id.slice(0, colon) as LeaseNamespace;
  if (colon <= 0 || !(LEASE_NAMESPACES as readonly string[]).includes(namespace)) {
    throw new LockstepError(ErrorCodes.EBADRESOURCE, `Unknown resource namespace in stored lease '${id}'.`, { hint: HINT });
  }
  return { namespace, name: id.slice(colon + 1), id };
}

/**
 * `repo:` conflicts with everything, `path:` with overlapping paths (one
 * contains the other), the rest on exact match.
 */
export function resourcesConflict(a: LeaseResource, b: LeaseResource): boolean {
  if (a.namespace === 'repo' || b.namespace === 'repo') return true;
  if (a.namespace !== b.namespace) return false;
  if (a.namespace === 'path') return pathsOverlap(a.name, b.name);
  return a.name === b.name;
}

function pathsOverlap(a: string, b: string): boolean {
  if (a === b || a === '.' || b === '.') return true;
  const within = (inner: string, outer: string) => inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
  return within(a, b) || within(b, a);
}

/** `--owner`, else LOCKSTEP_OWNER, else `<user>@<host>`. */
export function defaultLeaseOwner(env: NodeJS.ProcessEnv = process.env, explicit?: string): string {
  const chosen = (explicit ?? env.LOCKSTEP_OWNER ?? '').trim();
  if (chosen) return chosen;
  let user = env.USER || env.LOGNAME || 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${os.hostname()}`;
}
