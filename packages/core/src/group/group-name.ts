import { ErrorCodes, LockstepError } from '../errors';

/** Expands `{branch}`, `{target}`, `{project}` and `{env.NAME}` in a concurrency group template. */
export function resolveGroupName(template: string, values: { branch?: string; target?: string; project?: string }, env: NodeJS.ProcessEnv = process.env): string {
  const name = template.replace(/\{([^}]+)\}/g, (match, key: string) => {
    if (key.startsWith('env.')) {
      const value = env[key.slice(4)];
      if (value === undefined) {
        throw new LockstepError(ErrorCodes.EBADOPTIONS, `The concurrency group '${template}' uses ${match}, which is not set.`, {
          hint: `Set ${key.slice(4)} in the environment, or remove ${match} from concurrency.group.`,
        });
      }
      return value;
    }
    const value = (values as Record<string, string | undefined>)[key];
    if (value === undefined) {
      throw new LockstepError(ErrorCodes.EBADOPTIONS, `Unknown placeholder ${match} in the concurrency group '${template}'.`, {
        hint: 'Use {branch}, {target}, {project} or {env.NAME}.',
      });
    }
    return value;
  });
  if (!name.trim()) throw new LockstepError(ErrorCodes.EBADOPTIONS, 'The concurrency group name is empty.', { hint: 'Set concurrency.group, e.g. "publish" or "release-{branch}".' });
  return name;
}
