import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { errnoCode } from '../errors';
import { outDirBlockedByFileError, outDirLinkLoopError, outDirRefusedError } from './errors';
import { lstatOrUndefined } from '../util/fs';

/** Where an outDir may not be, beyond the workspace root itself. */
export interface OutDirRules {
  workspaceRoot: string;
  /** Roots of every project of the workspace (absolute or workspace-relative). */
  projectRoots?: readonly string[];
  /** More directories to stay out of (Nx's cache and workspace data directories). */
  reserved?: readonly string[];
  /** Let outDir lie outside the workspace (its stale files are pruned there too). */
  allowOutsideWorkspace?: boolean;
}

/** Directory names an outDir may never be or be inside of, wherever they are. */
const RESERVED_NAMES = ['.git', 'node_modules'];

/**
 * The real path outDir stands for, checked: links are followed first (the
 * commit follows them too), then the result must be a directory lockstep may
 * own. Never the workspace root or an ancestor of it, never a project root or
 * an ancestor of one, never in `.git`, `node_modules` or a reserved directory,
 * never outside the workspace unless allowed (and even then never `/`, the home
 * directory or an ancestor of either). outDir need not exist yet.
 */
export async function resolveOutDir(outDir: string, rules: OutDirRules): Promise<string> {
  const requested = path.resolve(rules.workspaceRoot, outDir);
  const real = await realPathOf(requested);
  const root = await realPathOf(path.resolve(rules.workspaceRoot));
  const asGiven = path.relative(path.resolve(rules.workspaceRoot), requested);
  const name = asGiven && !asGiven.startsWith('..') && !path.isAbsolute(asGiven) ? asGiven.split(path.sep).join('/') : requested;
  const shown = real === requested ? `'${name}'` : `'${name}' (really ${real})`;
  const refuse = (why: string, hint: string) => outDirRefusedError(shown, why, hint);
  const own = 'Point outDir at a directory of its own, such as "dist/generated/<project>": lockstep prunes what it wrote there before.';

  const stat = await lstatOrUndefined(real);
  if (stat && !stat.isDirectory()) throw refuse('it is a file, not a directory', `Remove the file, or ${own[0].toLowerCase()}${own.slice(1)}`);
  if (contains(real, root)) throw refuse('it is the workspace root or contains it', own);
  for (const name of RESERVED_NAMES) {
    const segments = real.split(path.sep);
    if (segments.includes(name)) throw refuse(`it is inside a ${name} directory`, own);
  }
  for (const reserved of rules.reserved ?? []) {
    const dir = await realPathOf(path.resolve(rules.workspaceRoot, reserved));
    if (contains(dir, real) || contains(real, dir)) throw refuse(`it overlaps ${dir}, which Nx keeps its cache and workspace data in`, own);
  }
  for (const project of rules.projectRoots ?? []) {
    const dir = await realPathOf(path.resolve(rules.workspaceRoot, project));
    if (dir === root) continue;
    if (contains(real, dir)) {
      throw refuse(`it is the root of project '${path.relative(root, dir)}' or contains it; pruning would delete sources`, 'Point outDir at a directory of its own, such as "dist/<project>" or "<projectRoot>/generated".');
    }
  }
  if (!contains(root, real)) {
    if (!rules.allowOutsideWorkspace) {
      throw refuse(`it is outside the workspace ${root}`, 'Keep outDir inside the workspace, or set "allowOutsideWorkspace": true if this directory is meant for lockstep alone (what it wrote there before is pruned).');
    }
    const home = await realPathOf(os.homedir());
    if (contains(real, home) || real === path.parse(real).root) throw refuse('it is the file-system root, the home directory, or contains one', own);
  }
  return real;
}

function contains(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}

/**
 * realpath of the deepest existing ancestor, joined with the rest: a path that
 * need not exist, with every link resolved (a dangling link stands for its
 * target, as mkdir through it would create that). A file where a directory
 * must be is refused.
 */
async function realPathOf(absolute: string): Promise<string> {
  const rest: string[] = [];
  let dir = absolute;
  let links = 0;
  for (;;) {
    let real: string;
    try {
      real = await fsp.realpath(dir);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ELOOP' || links > 32) {
        throw outDirLinkLoopError(absolute, dir);
      }
      const target = code === 'ENOENT' ? await readlinkOrUndefined(dir) : undefined;
      if (target !== undefined) {
        links++;
        dir = path.resolve(path.dirname(dir), target);
        continue;
      }
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      const parent = path.dirname(dir);
      if (parent === dir) throw error;
      rest.push(path.basename(dir));
      dir = parent;
      continue;
    }
    if (rest.length > 0 && !(await fsp.stat(real)).isDirectory()) {
      throw outDirBlockedByFileError(absolute, real);
    }
    return path.join(real, ...rest.reverse());
  }
}

async function readlinkOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await fsp.readlink(p);
  } catch {
    return undefined;
  }
}
