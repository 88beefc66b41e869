import { mkdirSync, symlinkSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { useTempDir } from '../test-utils/temp-dir';
import { resolveOutDir } from './out-dir';

describe('resolveOutDir', () => {
  const tmp = useTempDir();
  /** A workspace `ws/` with a project at apps/app, a .git, node_modules, .nx/cache, and an `outside/` dir beside it. */
  const workspace = () => {
    const ws = path.join(tmp(), 'ws');
    for (const dir of ['apps/app/src', '.git/objects', 'node_modules/x', '.nx/cache', 'dist']) mkdirSync(path.join(ws, dir), { recursive: true });
    mkdirSync(path.join(tmp(), 'outside'));
    writeFileSync(path.join(ws, 'dist', 'a-file'), 'x');
    symlinkSync('..', path.join(ws, 'dist', 'rootlink'));
    symlinkSync('../apps/app', path.join(ws, 'dist', 'projlink'));
    symlinkSync('../../outside', path.join(ws, 'dist', 'outlink'));
    symlinkSync('../.git', path.join(ws, 'dist', 'gitlink'));
    symlinkSync('../nowhere/deeper', path.join(ws, 'dist', 'dangling-to-inside'));
    symlinkSync('../..', path.join(ws, 'dist', 'dangling-parent'));
    return { ws, rules: { workspaceRoot: ws, projectRoots: ['apps/app', '.'], reserved: ['.nx/cache', '.nx'] } };
  };

  it.each([
    ['the workspace root', '.', /workspace root or contains it/],
    ['a symlink to the workspace root', 'dist/rootlink', /workspace root or contains it/],
    ['a path through a symlink to the root', 'dist/rootlink/.', /workspace root/],
    ['the project root', 'apps/app', /root of project 'apps\/app'/],
    ['an ancestor of a project root', 'apps', /root of project/],
    ['a symlink to a project root', 'dist/projlink', /root of project/],
    ['.git', '.git', /inside a \.git directory/],
    ['inside .git', '.git/objects/out', /inside a \.git directory/],
    ['a symlink to .git', 'dist/gitlink', /inside a \.git directory/],
    ['node_modules', 'node_modules/x/out', /inside a node_modules directory/],
    ["Nx's cache", '.nx/cache/out', /overlaps/],
    ["an ancestor of Nx's data", '.nx', /overlaps/],
    ['outside the workspace, relative', '../outside', /outside the workspace/],
    ['outside the workspace, through a symlink', 'dist/outlink', /outside the workspace/],
    ['outside the workspace, through a dangling link to its parent', 'dist/dangling-parent/elsewhere', /outside the workspace/],
    ['a file', 'dist/a-file', /is a file/],
    ['below a file', 'dist/a-file/sub', /is a file/],
  ])('refuses %s (%s) with EOUTDIRUNSAFE and a hint', async (_what, outDir, message) => {
    const { rules } = workspace();
    await expect(resolveOutDir(outDir, rules)).rejects.toMatchObject({ code: 'EOUTDIRUNSAFE', message: expect.stringMatching(message), hint: expect.any(String) });
  });

  it('refuses an absolute path outside the workspace, and the home directory even when outside is allowed', async () => {
    const { rules } = workspace();
    await expect(resolveOutDir(path.join(tmp(), 'outside'), rules)).rejects.toMatchObject({ code: 'EOUTDIRUNSAFE' });
    await expect(resolveOutDir(os.homedir(), { ...rules, allowOutsideWorkspace: true })).rejects.toMatchObject({ code: 'EOUTDIRUNSAFE' });
    await expect(resolveOutDir('/', { ...rules, allowOutsideWorkspace: true })).rejects.toMatchObject({ code: 'EOUTDIRUNSAFE' });
  });

  it('gives the real path of an allowed outDir, existing or not, through links that stay inside', async () => {
    const { ws, rules } = workspace();
    expect(await resolveOutDir('dist/gen/app', rules)).toBe(path.join(ws, 'dist', 'gen', 'app'));
    expect(await resolveOutDir('apps/app/generated', rules)).toBe(path.join(ws, 'apps', 'app', 'generated'));
    expect(await resolveOutDir('dist/dangling-to-inside', rules)).toBe(path.join(ws, 'nowhere', 'deeper'));
    expect(await resolveOutDir('dist/outlink', { ...rules, allowOutsideWorkspace: true })).toBe(path.join(tmp(), 'outside'));
  });
});
