import { ErrorCodes, LockstepError } from '../errors';

/**
 * The errors of concurrency groups (see errors.ts for the convention). A
 * group waits through the core lock, which names it as "the concurrency
 * group <name>" (acquireLock's `what`); the group only brings its own hint.
 */

/** The ELOCKTIMEOUT hint of a group: how to wait longer is the caller's option, not lockTimeoutMs. */
export function groupTimeoutHint(group: string): string {
  return (
    'Wait longer (concurrency.waitTimeoutMs of publish, --wait-timeout of lockstep group run), or stop the run that holds it; ' +
    `a dead holder is reclaimed automatically. 'lockstep group status --group ${group}' shows who holds it and who waits.`
  );
}

/** EBADOPTIONS: `{env.NAME}` in a group template names an unset variable. */
export function groupPlaceholderUnsetError(template: string, placeholder: string, variable: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `The concurrency group '${template}' uses ${placeholder}, which is not set.`, {
    hint: `Set ${variable} in the environment, or remove ${placeholder} from concurrency.group.`,
  });
}

/** EBADOPTIONS: a placeholder the group templates do not know. */
export function groupPlaceholderUnknownError(template: string, placeholder: string): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, `Unknown placeholder ${placeholder} in the concurrency group '${template}'.`, {
    hint: 'Use {branch}, {target}, {project} or {env.NAME}.',
  });
}

/** EBADOPTIONS: the group name came out empty. */
export function groupNameEmptyError(): LockstepError {
  return new LockstepError(ErrorCodes.EBADOPTIONS, 'The concurrency group name is empty.', { hint: 'Set concurrency.group, e.g. "publish" or "release-{branch}".' });
}
