import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, LockstepError } from '../errors';
import { hasControls, safeText } from '../util/display';

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

/** Longest name part of a package:, group: or repo: resource, in characters. */
export const MAX_RESOURCE_NAME_LENGTH = 256;
/** Longest name part of a path: resource, in characters, after it is made absolute (or relative to the repository). */
export const MAX_PATH_RESOURCE_LENGTH = 1024;
/** Longest lease owner, in characters. */
export const MAX_OWNER_LENGTH = 128;

const PRINTABLE_HINT = 'printable characters only: no control characters (C0, C1, DEL) and no Unicode bidi controls';

/**
 * Parses `--resource` text. EBADRESOURCE for an unknown namespace, an empty
 * name, a name longer than MAX_RESOURCE_NAME_LENGTH (path:
 * MAX_PATH_RESOURCE_LENGTH) or one with control characters: a resource name
 * is shown to every other user of the lock directory or the git remote.
 */
export function parseResource(raw: string, options: ParseResourceOptions = {}): LeaseResource {
  const text = String(raw ?? '').trim();
  if (hasControls(text)) {
    throw new LockstepError(ErrorCodes.EBADRESOURCE, `The resource '${safeText(text, 80)}' contains control characters.`, {
      hint: `Resource names are shown to everyone who shares the leases: ${PRINTABLE_HINT}. ${HINT}`,
    });
  }
  if (text.length > MAX_PATH_RESOURCE_LENGTH + 16) throw tooLongResource(text, MAX_PATH_RESOURCE_LENGTH);
  const colon = text.indexOf(':');
  const namespace = colon > 0 ? text.slice(0, colon) : '';
  if (!(LEASE_NAMESPACES as readonly string[]).includes(namespace)) {
    throw new LockstepError(
      ErrorCodes.EBADRESOURCE,
      colon > 0 ? `Unknown resource namespace '${safeText(namespace, 40)}:' in '${safeText(text, 80)}'.` : `The resource '${safeText(text, 80)}' has no namespace.`,
      { hint: HINT },
    );
  }
  let name = text.slice(colon + 1).trim();
  if (name === '') throw new LockstepError(ErrorCodes.EBADRESOURCE, `The resource '${safeText(text, 80)}' has an empty name.`, { hint: HINT });
  if (namespace === 'path') {
    name = canonicalPath(name, options);
    if (name.length > MAX_PATH_RESOURCE_LENGTH) throw tooLongResource(`path:${name}`, MAX_PATH_RESOURCE_LENGTH);
  } else if (name.length > MAX_RESOURCE_NAME_LENGTH) {
    throw tooLongResource(text, MAX_RESOURCE_NAME_LENGTH);
  }
  return { namespace: namespace as LeaseNamespace, name, id: `${namespace}:${name}` };
}

function tooLongResource(text: string, max: number): LockstepError {
  return new LockstepError(ErrorCodes.EBADRESOURCE, `The resource '${safeText(text, 60)}' is too long (${text.length} characters).`, {
    hint: `The name after the namespace may have at most ${MAX_RESOURCE_NAME_LENGTH} characters (${MAX_PATH_RESOURCE_LENGTH} for path:, once resolved). Name the resource shortly, e.g. --resource package:@acme/api.`,
  });
}

/**
 * A lease owner as given (`--owner`, LOCKSTEP_OWNER, the API): not empty, at
 * most MAX_OWNER_LENGTH characters, printable. EBADOPTIONS otherwise: the
 * owner is shown to everyone who shares the leases.
 */
export function checkLeaseOwner(owner: unknown, source = 'The lease owner'): string {
  if (typeof owner !== 'string' || owner.trim() === '') {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `${source} is empty.`, {
      hint: 'Pass --owner (e.g. --owner ci@runner-3), set LOCKSTEP_OWNER, or let it default to <user>@<host>.',
    });
  }
  const hint = `An owner is a short name others see in lock status: at most ${MAX_OWNER_LENGTH} characters, ${PRINTABLE_HINT}. For example --owner "ci-$CI_JOB_ID".`;
  if (hasControls(owner)) throw new LockstepError(ErrorCodes.EBADOPTIONS, `${source} '${safeText(owner, 60)}' contains control characters.`, { hint });
  if (owner.length > MAX_OWNER_LENGTH) throw new LockstepError(ErrorCodes.EBADOPTIONS, `${source} '${safeText(owner, 40)}' is too long (${owner.length} characters).`, { hint });
  return owner;
}

function canonicalPath(name: string, options: ParseResourceOptions): string {
  const absolute = path.resolve(options.cwd ?? process.cwd(), name);
  if (!options.root) return toPosix(absolute);
  const relative = path.relative(path.resolve(options.root), absolute);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new LockstepError(ErrorCodes.EBADRESOURCE, `The path '${safeText(name, 80)}' is outside the repository ${options.root}.`, {
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
    throw new LockstepError(ErrorCodes.EBADRESOURCE, `Unknown resource namespace in stored lease '${safeText(id, 80)}'.`, { hint: HINT });
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

/** Longest reason `lock break` takes, in characters. */
export const MAX_BREAK_REASON_LENGTH = 1024;

/** `break` needs a reason (it takes a lease away from someone): not empty, printable, at most MAX_BREAK_REASON_LENGTH. */
export function checkBreakReason(reason: unknown): string {
  const hint = `Say why the holder cannot release it itself, e.g. --reason "runner-3 died mid-deploy (INC-42)"; at most ${MAX_BREAK_REASON_LENGTH} characters, ${PRINTABLE_HINT}.`;
  if (typeof reason !== 'string' || reason.trim() === '') throw new LockstepError(ErrorCodes.EBADOPTIONS, 'Breaking a lease needs a reason (--reason).', { hint });
  if (hasControls(reason)) throw new LockstepError(ErrorCodes.EBADOPTIONS, `The reason '${safeText(reason, 60)}' contains control characters.`, { hint });
  if (reason.length > MAX_BREAK_REASON_LENGTH) throw new LockstepError(ErrorCodes.EBADOPTIONS, `The reason is too long (${reason.length} characters).`, { hint });
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
