import { ErrorCodes, LockstepError } from '../errors';
import { redactUrls, safeText } from '../util/display';
import { formatDuration } from '../util/duration';
import { describeLease } from './describe';
import type { LeaseResource } from './resource';
import type { LeaseView } from './types';

/**
 * Every error of the lease area (both backends, resources, owners, the git
 * commands of the git backend). Where the two backends meet the same
 * situation they raise the same error with the same words; what differs
 * (the git backend's expiry rule, `--backend git` in the commands a hint
 * suggests) is passed in. See errors.ts for the naming convention.
 */

export type LeaseBackendKind = 'local' | 'git';

/** How much of a resource id a message shows (ids are checked at parse time, records are not). */
const ID_SHOWN = 300;

const PRINTABLE = 'printable characters only: no control characters (C0, C1, DEL) and no Unicode bidi controls';
const RESOURCE_HINT = 'Use package:<name>, path:<dir>, group:<name> or repo:<name>, e.g. --resource package:@acme/api';

function shownId(resource: LeaseResource | string): string {
  return safeText(typeof resource === 'string' ? resource : resource.id, ID_SHOWN);
}

function backendFlag(backend: LeaseBackendKind): string {
  return backend === 'git' ? ' --backend git' : '';
}

// ------------------------------------------------------------------ holding

export interface LeaseConflictDetails {
  backend: LeaseBackendKind;
  /** How long this acquire waited; undefined when it did not wait (waitMs 0). */
  waitedMs?: number;
  /** When an abandoned lease of the first conflict expires, in words (backends judge expiry differently). */
  expiry?: string;
}

/** ELEASECONFLICT: leases of other owners stayed in the way (up to three are named). */
export function leaseConflictError(resource: LeaseResource, conflicts: LeaseView[], details: LeaseConflictDetails): LockstepError {
  const id = shownId(resource);
  const shown = conflicts
    .slice(0, 3)
    .map((c) => (c.resource === resource.id ? `held by ${describeLease(c)}` : `conflicts with ${shownId(c.resource)}, held by ${describeLease(c)}`));
  const more = conflicts.length > 3 ? `; and ${conflicts.length - 3} more` : '';
  const waited = details.waitedMs !== undefined ? ` after waiting ${formatDuration(details.waitedMs)}` : '';
  const what = shown.length ? `${shown.join('; ')}${more}` : 'other owners kept taking and releasing conflicting leases';
  const owners = [...new Set(conflicts.map((c) => safeText(c.owner)))].slice(0, 3);
  const flag = backendFlag(details.backend);
  return new LockstepError(ErrorCodes.ELEASECONFLICT, `Could not acquire ${id}${waited}: ${what}.`, {
    hint:
      `Wait for it (--wait 10m, or waitMs), or ask ${owners.length ? owners.join(', ') : 'its owner'} to release it; ` +
      `an expired lease is taken over automatically${details.expiry ? ` (${details.expiry})` : ''}. ` +
      `'lockstep lock status --resource ${id}${flag}' shows who holds what; ` +
      `'lockstep lock break --resource ${id}${flag} --reason "…"' removes a lease whose holder is gone.`,
  });
}

/** ELEASENOTOWNER: renew or release by an owner that does not hold the lease. `holder` undefined: an unreadable record. */
export function leaseNotOwnerError(resource: LeaseResource, owner: string, holder: LeaseView | undefined, action: 'renew' | 'release'): LockstepError {
  const held = holder ? describeLease(holder) : 'an unreadable record';
  return new LockstepError(ErrorCodes.ELEASENOTOWNER, `Cannot ${action} the lease on ${shownId(resource)}: it is held by ${held}, not by ${safeText(owner)}.`, {
    hint:
      `Only the owner that acquired a lease can ${action} it: pass that owner (--owner or LOCKSTEP_OWNER); separate commands of one job must use the same owner. ` +
      `If the holder is gone, its lease expires after its TTL and 'lockstep lock gc' removes it.`,
  });
}

/** ELEASENOTHELD: renew of a lease nobody holds. */
export function leaseNotHeldError(resource: LeaseResource): LockstepError {
  const id = shownId(resource);
  return new LockstepError(
    ErrorCodes.ELEASENOTHELD,
    `Nobody holds a lease on ${id}, so it cannot be renewed: it was never acquired, was released, or expired and was taken over or collected.`,
    { hint: `Acquire it again (lockstep lock acquire --resource ${id}), and renew well within the TTL.` },
  );
}

/** ELEASECONFLICT: the lease changed under every try of one call (other processes writing it in a tight loop). */
export function leaseBusyError(resource: LeaseResource, action: 'acquire' | 'renew' | 'release' | 'break'): LockstepError {
  return new LockstepError(ErrorCodes.ELEASECONFLICT, `Could not ${action} the lease on ${shownId(resource)}: it kept changing under this command.`, {
    hint: 'Other processes are writing the same lease at this moment (acquiring, renewing or releasing it in a tight loop); run the command again.',
  });
}

/** ELEASECONFLICT: `break` read one holder, and the lease changed before the removal (compare-and-swap refused). */
export function leaseChangedWhileBreakingError(resource: LeaseResource, seen: LeaseView, now: LeaseView | undefined, backend: LeaseBackendKind): LockstepError {
  const id = shownId(resource);
  return new LockstepError(
    ErrorCodes.ELEASECONFLICT,
    `The lease on ${id} changed while it was being broken (it was held by ${describeLease(seen)}${now ? `; now by ${describeLease(now)}` : ''}): nothing was removed.`,
    { hint: `Look again with 'lockstep lock status --resource ${id}${backendFlag(backend)}' and run lock break again if that is still the lease to break.` },
  );
}

/** ELEASECONFLICT (local backend): the entry of `resource` holds a lease file that is not a lease. */
export function leaseFileDamagedError(resource: LeaseResource, dir: string, staleMs: number): LockstepError {
  return new LockstepError(ErrorCodes.ELEASECONFLICT, `The lease file of ${shownId(resource)} in ${dir} is unreadable.`, {
    hint: `It was damaged by hand. 'lockstep lock gc' removes it ${formatDuration(staleMs)} after its last change; 'lockstep lock break --resource … --reason …' removes it now.`,
  });
}

/** EABORTED: the caller's signal stopped a waiting acquire; nothing is held. */
export function leaseWaitAbortedError(resource: LeaseResource, signal?: AbortSignal): LockstepError {
  const reason = signal?.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new LockstepError(ErrorCodes.EABORTED, `Stopped waiting for the lease on ${shownId(resource)}${reason}.`, {
    cause: signal?.reason,
    hint: 'The wait was interrupted (a signal, Ctrl-C, or the caller gave up); this call holds no lease. Run the command again to wait anew.',
  });
}

// ------------------------------------------------------------------ options

/** EBADOPTIONS: an acquire's waitMs that is not a number of milliseconds ≥ 0. */
export function leaseWaitOptionError(waitMs: unknown): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `waitMs must be a number of milliseconds, 0 or more, not ${safeText(String(waitMs), 40)}.`, {
    hint: 'Pass waitMs: 0 to try once, or how long to wait for a lease another owner holds (e.g. waitMs: 5 * 60_000; --wait 5m).',
  });
}

/** EBADOPTIONS: the owner of a lease is empty. `source` names where it came from ("The owner in LOCKSTEP_OWNER"). */
export function leaseOwnerEmptyError(source: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `${source} is empty.`, {
    hint: 'Pass --owner (e.g. --owner ci@runner-3), set LOCKSTEP_OWNER, or let it default to <user>@<host>.',
  });
}

/** EBADOPTIONS: an owner with control characters, or longer than `maxLength`. */
export function leaseOwnerUnfitError(source: string, owner: string, problem: 'controls' | 'too-long', maxLength: number): LockstepError {
  const message =
    problem === 'controls' ? `${source} '${safeText(owner, 60)}' contains control characters.` : `${source} '${safeText(owner, 40)}' is too long (${owner.length} characters).`;
  return new LockstepError(ErrorCodes.EBADOPTIONS, message, {
    hint: `An owner is a short name others see in lock status: at most ${maxLength} characters, ${PRINTABLE}. For example --owner "ci-$CI_JOB_ID".`,
  });
}

/** EBADOPTIONS: `lock break` without a usable reason (missing, control characters, too long). */
export function breakReasonError(problem: 'missing' | 'controls' | 'too-long', reason: unknown, maxLength: number): LockstepError {
  const message =
    problem === 'missing'
      ? 'Breaking a lease needs a reason (--reason).'
      : problem === 'controls'
        ? `The reason '${safeText(reason, 60)}' contains control characters.`
        : `The reason is too long (${String(reason).length} characters).`;
  return new LockstepError(ErrorCodes.EBADOPTIONS, message, {
    hint: `Say why the holder cannot release it itself, e.g. --reason "runner-3 died mid-deploy (INC-42)"; at most ${maxLength} characters, ${PRINTABLE}.`,
  });
}

// ---------------------------------------------------------------- resources

/** EBADRESOURCE: a resource name with control characters (everyone sharing the leases sees it). */
export function resourceControlCharsError(text: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADRESOURCE, `The resource '${safeText(text, 80)}' contains control characters.`, {
    hint: `Resource names are shown to everyone who shares the leases: ${PRINTABLE}. ${RESOURCE_HINT}`,
  });
}

/** EBADRESOURCE: a name part longer than the limits. */
export function resourceTooLongError(text: string, limits: { name: number; path: number }): LockstepError {
  return new LockstepError(ErrorCodes.EBADRESOURCE, `The resource '${safeText(text, 60)}' is too long (${text.length} characters).`, {
    hint: `The name after the namespace may have at most ${limits.name} characters (${limits.path} for path:, once resolved). Name the resource shortly, e.g. --resource package:@acme/api.`,
  });
}

/** EBADRESOURCE: no namespace, or one lockstep does not know (`namespace` undefined: none at all). */
export function resourceNamespaceError(text: string, namespace?: string): LockstepError {
  const message =
    namespace !== undefined ? `Unknown resource namespace '${safeText(namespace, 40)}:' in '${safeText(text, 80)}'.` : `The resource '${safeText(text, 80)}' has no namespace.`;
  return new LockstepError(ErrorCodes.EBADRESOURCE, message, { hint: RESOURCE_HINT });
}

/** EBADRESOURCE: a stored lease (someone else's record) names a resource without a known namespace. */
export function storedResourceError(id: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADRESOURCE, `Unknown resource namespace in stored lease '${safeText(id, 80)}'.`, { hint: RESOURCE_HINT });
}

/** EBADRESOURCE: `package:` and nothing after it. */
export function resourceEmptyNameError(text: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADRESOURCE, `The resource '${safeText(text, 80)}' has an empty name.`, { hint: RESOURCE_HINT });
}

/** EBADRESOURCE: a backend was given something that parseResource did not make. */
export function resourceNotParsedError(value: unknown): LockstepError {
  const id = (value as { id?: unknown } | undefined)?.id;
  return new LockstepError(ErrorCodes.EBADRESOURCE, `${typeof id === 'string' ? `'${safeText(id, 80)}'` : 'The resource given'} is not a parsed lease resource.`, {
    hint: `Pass what parseResource('<namespace>:<name>') returns. ${RESOURCE_HINT}`,
  });
}

/** EBADRESOURCE: a path: resource of the git backend outside the repository. */
export function resourceOutsideRepositoryError(name: string, root: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADRESOURCE, `The path '${safeText(name, 80)}' is outside the repository ${root}.`, {
    hint: 'A git lease names paths inside the repository, so that every clone means the same directory.',
  });
}

// ---------------------------------------------------------------------- git

/** EBADOPTIONS: a remote name git would take for an option or that cannot be a remote. */
export function gitRemoteNameError(remote: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `'${safeText(remote, 80)}' is not a usable git remote for leases.`, {
    hint: 'Pass the name of a remote of the clone (see `git remote -v`), e.g. origin.',
  });
}

/** EGIT: the clone directory does not exist. */
export function gitCwdMissingError(cwd: string): LockstepError {
  return new LockstepError(ErrorCodes.EGIT, `The directory ${cwd} for the git lease backend does not exist.`, {
    hint: 'Pass the path of a clone of the shared repository as cwd.',
  });
}

/** EGIT: no git on PATH. */
export function gitNotFoundError(what: string): LockstepError {
  return new LockstepError(ErrorCodes.EGIT, `Could not run git for the git lease backend (${what}): git was not found.`, {
    hint: 'Install git and make sure it is on PATH, or use the local lease backend on a single machine.',
  });
}

/** EGIT: a git command ran past its time limit and was stopped. */
export function gitTimeoutError(what: string, timeoutMs: number): LockstepError {
  return new LockstepError(ErrorCodes.EGIT, `${what} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped.`, {
    hint: 'The remote did not answer in time. Check the network and the remote (git ls-remote <remote>), then run again; a lease this run may have created expires on its own after its TTL.',
  });
}

/** EGIT for a git command that failed: the last lines of its stderr (URL credentials removed) and a hint chosen by what git said. */
export function gitCommandError(what: string, status: string, stderr: string, cwd: string): LockstepError {
  const detail = redactUrls(
    stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^(hint:|To |From )/.test(l))
      .slice(-4)
      .join(' | '),
  );
  return new LockstepError(ErrorCodes.EGIT, `${what} failed (${redactUrls(status)})${detail ? `: ${detail}` : '.'}`, {
    hint: gitHint(stderr, cwd),
  });
}

function gitHint(stderr: string, cwd: string): string {
  const s = stderr.toLowerCase();
  if (s.includes('not a git repository') && !s.includes('does not appear to be')) {
    return `The git lease backend runs in a clone of the shared repository; ${cwd} is not inside one. Run from the clone or pass its path as cwd.`;
  }
  if (s.includes('does not appear to be a git repository') || s.includes('no such remote') || s.includes('could not read from remote')) {
    return `Check the remote the leases live on: \`git remote -v\` in ${cwd} must list it (default "origin"), it must be reachable, and every machine must use the same one.`;
  }
  if (/authentication failed|could not read (username|password)|terminal prompts disabled|permission denied|403|401|access denied|not authorized/.test(s)) {
    return 'git could not authenticate to the remote (prompts are off). Give this job read and push rights to refs/lockstep/* (a credential helper, a token in the remote URL, or an SSH key).';
  }
  if (/could not resolve host|unable to access|connection (refused|timed out|reset)|network is unreachable|failed to connect/.test(s)) {
    return 'The remote could not be reached. Check the network and the remote URL (`git remote -v`), then run again.';
  }
  if (/deny|declined|hook|protected|refusing/.test(s)) {
    return 'The remote refused the update of refs/lockstep/locks/*. Allow this job to create, force-update and delete refs under refs/lockstep/ (server hooks, receive.denyNonFastForwards, receive.denyDeletes).';
  }
  return `Run the same git command by hand in ${cwd} to see what fails; the remote must allow reading and pushing refs/lockstep/locks/*.`;
}
