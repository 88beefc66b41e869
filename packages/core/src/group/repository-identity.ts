import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { realpathSync } from 'fs';

/**
 * What makes two checkouts "the same repository": the root commit(s) of its
 * history, so two clones on one machine serialise their releases; the real
 * path of the workspace when it is not a git repository.
 */
export function repositoryIdentity(workspaceRoot: string): string {
  try {
    const roots = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')
      .sort();
    if (roots[0]) return `git:${createHash('sha256').update(roots.join(',')).digest('hex').slice(0, 16)}`;
  } catch {
    // not a git repository, or no commit yet
  }
  return `dir:${realpathSync(workspaceRoot)}`;
}

/** The checked-out commit, or undefined outside git. */
export function currentSha(workspaceRoot: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function currentBranch(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromCi = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || env.CI_COMMIT_REF_NAME || env.BRANCH_NAME;
  if (fromCi) return fromCi;
  try {
    return execFileSync('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 'detached';
  } catch {
    return 'none';
  }
}
