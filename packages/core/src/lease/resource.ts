import * as os from 'os';
import * as path from 'path';
import { hasControls } from '../util/display';
import {
  breakReasonError,
  leaseOwnerEmptyError,
  leaseOwnerUnfitError,
  resourceControlCharsError,
  resourceEmptyNameError,
  resourceNamespaceError,
  resourceOutsideRepositoryError,
  resourceTooLongError,
  storedResourceError,
} from './errors';

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

/** Longest name part of a package:, group: or repo: resource, in characters. */
export const MAX_RESOURCE_NAME_LENGTH = 256;
/** Longest name part of a path: resource, in characters, after it is made absolute (or relative to the repository). */
export const MAX_PATH_RESOURCE_LENGTH = 1024;
/** Longest lease owner, in characters. */
export const MAX_OWNER_LENGTH = 128;

/**
 * Parses `--resource` text. EBADRESOURCE for an unknown namespace, an empty
 * name, a name longer than MAX_RESOURCE_NAME_LENGTH (path:
 * MAX_PATH_RESOURCE_LENGTH) or one with control characters: a resource name
 * is shown to every other user of the lock directory or the git remote.
 */
export function parseResource(raw: string, options: ParseResourceOptions = {}): LeaseResource {
  const text = String(raw ?? '').trim();
  if (hasControls(text)) throw resourceControlCharsError(text);
  if (text.length > MAX_PATH_RESOURCE_LENGTH + 16) throw tooLongResource(text);
  const colon = text.indexOf(':');
  const namespace = colon > 0 ? text.slice(0, colon) : '';
  if (!(LEASE_NAMESPACES as readonly string[]).includes(namespace)) throw resourceNamespaceError(text, colon > 0 ? namespace : undefined);
  let name = text.slice(colon + 1).trim();
  if (name === '') throw resourceEmptyNameError(text);
  if (namespace === 'path') {
    name = canonicalPath(name, options);
    if (name.length > MAX_PATH_RESOURCE_LENGTH) throw tooLongResource(`path:${name}`);
  } else if (name.length > MAX_RESOURCE_NAME_LENGTH) {
    throw tooLongResource(text);
  }
  return { namespace: namespace as LeaseNamespace, name, id: `${namespace}:${name}` };
}

function tooLongResource(text: string) {
  return resourceTooLongError(text, { name: MAX_RESOURCE_NAME_LENGTH, path: MAX_PATH_RESOURCE_LENGTH });
}

/**
 * A lease owner as given (`--owner`, LOCKSTEP_OWNER, the API): not empty, at
 * most MAX_OWNER_LENGTH characters, printable. EBADOPTIONS otherwise: the
 * owner is shown to everyone who shares the leases.
 */
export function checkLeaseOwner(owner: unknown, source = 'The lease owner'): string {
  if (typeof owner !== 'string' || owner.trim() === '') throw leaseOwnerEmptyError(source);
  if (hasControls(owner)) throw leaseOwnerUnfitError(source, owner, 'controls', MAX_OWNER_LENGTH);
  if (owner.length > MAX_OWNER_LENGTH) throw leaseOwnerUnfitError(source, owner, 'too-long', MAX_OWNER_LENGTH);
  return owner;
}

function canonicalPath(name: string, options: ParseResourceOptions): string {
  const absolute = path.resolve(options.cwd ?? process.cwd(), name);
  if (!options.root) return toPosix(absolute);
  const relative = path.relative(path.resolve(options.root), absolute);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw resourceOutsideRepositoryError(name, options.root);
  return relative === '' ? '.' : toPosix(relative);
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Parses a stored id (`ns:name`) without resolving paths again. */
export function resourceFromId(id: string): LeaseResource {
  const colon = id.indexOf(':');
  const namespace = id.slice(0, colon) as LeaseNamespace;
  if (colon <= 0 || !(LEASE_NAMESPACES as readonly string[]).includes(namespace)) throw storedResourceError(id);
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

/** Longest reason `lock break` takes, in characters. */
export const MAX_BREAK_REASON_LENGTH = 1024;

/** `break` needs a reason (it takes a lease away from someone): not empty, printable, at most MAX_BREAK_REASON_LENGTH. */
export function checkBreakReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '') throw breakReasonError('missing', reason, MAX_BREAK_REASON_LENGTH);
  if (hasControls(reason)) throw breakReasonError('controls', reason, MAX_BREAK_REASON_LENGTH);
  if (reason.length > MAX_BREAK_REASON_LENGTH) throw breakReasonError('too-long', reason, MAX_BREAK_REASON_LENGTH);
  return reason.trim();
}

/**
 * `--owner`, else LOCKSTEP_OWNER, else `<user>@<host>`. An explicit owner or
 * LOCKSTEP_OWNER that is too long or has control characters is EBADOPTIONS
 * (see checkLeaseOwner).
 */
export function defaultLeaseOwner(env: NodeJS.ProcessEnv = process.env, explicit?: string): string {
  if (explicit !== undefined && explicit.trim() !== '') return checkLeaseOwner(explicit.trim(), 'The owner (--owner)');
  const fromEnv = (env.LOCKSTEP_OWNER ?? '').trim();
  if (fromEnv) return checkLeaseOwner(fromEnv, 'The owner in LOCKSTEP_OWNER');
  let user = env.USER || env.LOGNAME || 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${os.hostname()}`;
}
