import { groupNameEmptyError, groupPlaceholderUnknownError, groupPlaceholderUnsetError } from './errors';

/** Expands `{branch}`, `{target}`, `{project}` and `{env.NAME}` in a concurrency group template. */
export function resolveGroupName(template: string, values: { branch?: string; target?: string; project?: string }, env: NodeJS.ProcessEnv = process.env): string {
  const name = template.replace(/\{([^}]+)\}/g, (match, key: string) => {
    if (key.startsWith('env.')) {
      const value = env[key.slice(4)];
      if (value === undefined) throw groupPlaceholderUnsetError(template, match, key.slice(4));
      return value;
    }
    const value = (values as Record<string, string | undefined>)[key];
    if (value === undefined) throw groupPlaceholderUnknownError(template, match);
    return value;
  });
  if (!name.trim()) throw groupNameEmptyError();
  return name;
}
