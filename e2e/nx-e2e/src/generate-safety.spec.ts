/**
 * `generate` run by the real nx binary as a hostile or careless user would
 * configure it: outDirs that lead (through links, `..`, absolute paths) onto
 * the workspace, a project, .git or outside, generators that give nonsense or
 * end the process. Each case diffs the whole workspace (and canaries outside
 * it) before and after: lockstep must refuse with a code and a hint, and must
 * not delete or change anything.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TempWorkspace, createTempWorkspace, expectFailure, expectSuccess } from './utils/temp-workspace';

const GENERATE = '@lockstep/nx:generate';
const NX_TIMEOUT_MS = 240_000;

/** Every file and link under `root` (not following links), with its bytes or link target; Nx's own .nx and node_modules aside. */
function snapshotAll(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (!rel && (entry.name === '.nx' || entry.name === 'node_modules')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) out[childRel] = `-> ${fs.readlinkSync(full)}`;
      else if (entry.isDirectory()) {
        out[`${childRel}/`] = 'dir';
        walk(full, childRel);
      } else out[childRel] = fs.readFileSync(full).toString('base64');
    }
  };
  walk(root, '');
  return out;
}

describe('generate refuses outDirs that are not its own, and deletes nothing (real nx)', () => {
  let ws: TempWorkspace;
  let outside: string;
  const ROOT = 'apps/app';
  const gen = `${ROOT}/gen.js`;
  const target = (options: Record<string, unknown>) => ({ executor: GENERATE, options: { generator: gen, ...options } });

  beforeAll(async () => {
    ws = await createTempWorkspace('generate-safety', {
      [gen]: "exports.generate = () => ({ 'a.txt': 'A' });\n",
      [`${ROOT}/emit-null.js`]: "exports.generate = (ctx) => { ctx.emit('a.txt', null); };\n",
      [`${ROOT}/returns-string.js`]: "exports.generate = () => 'just text';\n",
      [`${ROOT}/exits.js`]: "exports.generate = (ctx) => { ctx.emit('a.txt', 'A'); process.exit(3); };\n",
      [`${ROOT}/src/index.ts`]: 'export const answer = 42;\n',
      'README.md': '# do not delete\n',
      [`${ROOT}/project.json`]: {
        name: 'app',
        root: ROOT,
        targets: {
          'root-link': target({ outDir: 'dist/rootlink' }),
          'root-link-all': target({ outDir: 'dist/rootlink', prune: 'all' }),
          'project-link': target({ outDir: 'dist/projlink', prune: 'all' }),
          'outside-relative': target({ outDir: '../outside-rel', prune: 'all' }),
          'outside-link': target({ outDir: 'dist/outlink', prune: 'all' }),
          'outside-absolute': target({ outDir: '__OUTSIDE__', prune: 'all' }),
          git: target({ outDir: '.git', prune: 'all' }),
          'a-file': target({ outDir: 'README.md' }),
          'emit-null': target({ outDir: 'dist/ok', generator: `${ROOT}/emit-null.js` }),
          'returns-string': target({ outDir: 'dist/ok', generator: `${ROOT}/returns-string.js` }),
          exits: target({ outDir: 'dist/ok', generator: `${ROOT}/exits.js` }),
        },
      },
    });
    outside = ws.scratch('outside');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'canary.txt'), 'outside canary');
    fs.mkdirSync(path.join(path.dirname(ws.root), 'outside-rel'), { recursive: true });
    fs.writeFileSync(path.join(path.dirname(ws.root), 'outside-rel', 'canary.txt'), 'relative canary');
    // The absolute outDir is known only now: write it into the target.
    const projectJson = ws.path(ROOT, 'project.json');
    fs.writeFileSync(projectJson, fs.readFileSync(projectJson, 'utf8').replace('__OUTSIDE__', outside));
    fs.mkdirSync(ws.path('dist'));
    fs.symlinkSync('..', ws.path('dist', 'rootlink'));
    fs.symlinkSync('../apps/app', ws.path('dist', 'projlink'));
    fs.symlinkSync(outside, ws.path('dist', 'outlink'));
  }, NX_TIMEOUT_MS);

  afterAll(() => {
    ws?.remove();
    fs.rmSync(path.join(path.dirname(ws.root), 'outside-rel'), { recursive: true, force: true });
  });

  it.each([
    ['root-link', /Refusing outDir 'dist\/rootlink' \(really .*\): it is the workspace root or contains it/],
    ['root-link-all', /it is the workspace root or contains it/],
    ['project-link', /it is the root of project 'apps\/app' or contains it/],
    ['outside-relative', /it is outside the workspace/],
    ['outside-link', /it is outside the workspace/],
    ['outside-absolute', /it is outside the workspace/],
    ['git', /it is inside a \.git directory/],
    ['a-file', /it is a file, not a directory/],
  ])('%s: EOUTDIRUNSAFE with a hint; the workspace and the canaries outside are byte for byte as before', async (name, message) => {
    const before = snapshotAll(ws.root);
    const result = await ws.nx(['run', `app:${name}`, '--output-style=static', '--skip-nx-cache']);
    expectFailure(result, `nx run app:${name}`);
    expect(result.output).toMatch(/\[lockstep\] \[EOUTDIRUNSAFE\] /);
    expect(result.output).toMatch(message);
    expect(result.output).toMatch(/Hint: /);
    expect(snapshotAll(ws.root)).toEqual(before);
    expect(fs.readFileSync(path.join(outside, 'canary.txt'), 'utf8')).toBe('outside canary');
    expect(fs.readFileSync(path.join(path.dirname(ws.root), 'outside-rel', 'canary.txt'), 'utf8')).toBe('relative canary');
    expect(fs.readdirSync(outside)).toEqual(['canary.txt']);
  }, NX_TIMEOUT_MS);

  it.each([
    ['emit-null', /\[lockstep\] \[EGENERATOR\] The generator .*emit-null\.js gave null as the content of 'a\.txt'/],
    ['returns-string', /\[lockstep\] \[EGENERATOR\] The generator .*returns-string\.js returned a string/],
    ['exits', /\[lockstep\] \[EGENERATOR\] The generator .*exits\.js ended the process \(exit code 3\) before it finished/],
  ])('%s: EGENERATOR with a hint, outDir untouched', async (name, message) => {
    const result = await ws.nx(['run', `app:${name}`, '--output-style=static', '--skip-nx-cache']);
    expectFailure(result, `nx run app:${name}`);
    expect(result.output).toMatch(message);
    expect(result.output).toMatch(/Hint: /);
    expect(fs.existsSync(ws.path('dist', 'ok', 'a.txt'))).toBe(false);
  }, NX_TIMEOUT_MS);
});

describe('prune removes only what lockstep wrote (real nx)', () => {
  let ws: TempWorkspace;
  const OUT = 'dist/gen';

  beforeAll(async () => {
    ws = await createTempWorkspace('generate-prune', {
      'tools/gen.js': "exports.generate = () => Object.fromEntries((process.env.GEN_FILES || '').split(',').filter(Boolean).map((f) => [f, 'v:' + f]));\n",
      'apps/app/project.json': {
        name: 'app',
        root: 'apps/app',
        targets: { generate: { executor: GENERATE, options: { outDir: OUT, generator: 'tools/gen.js' } } },
      },
    });
    fs.mkdirSync(ws.path(OUT, 'notes'), { recursive: true });
    fs.writeFileSync(ws.path(OUT, 'notes', 'mine.md'), 'a file lockstep did not write');
  }, NX_TIMEOUT_MS);

  afterAll(() => ws?.remove());

  it('the first run into a non-empty outDir leaves and names the foreign file; later runs prune their own files only', async () => {
    const run = (files: string) => ws.nx(['run', 'app:generate', '--output-style=static', '--skip-nx-cache'], { env: { GEN_FILES: files } });
    const first = await run('a.txt,b/c.txt');
    expectSuccess(first, 'first generate');
    expect(first.output).toContain(`[lockstep] ${OUT}: 2 files, 2 written, 0 unchanged, 0 pruned, 1 left (not written by lockstep)`);
    expect(first.output).toContain('First generation into a non-empty outDir: left 1 file(s) that lockstep did not write: notes/mine.md.');

    const second = await run('a.txt');
    expectSuccess(second, 'second generate');
    expect(second.output).toContain(`[lockstep] ${OUT}: 1 files, 0 written, 1 unchanged, 1 pruned, 1 left (not written by lockstep)`);
    expect(second.output).not.toContain('lockstep did not write:');
    expect(fs.readdirSync(ws.path(OUT)).sort()).toEqual(['a.txt', 'notes']);
    expect(fs.readFileSync(ws.path(OUT, 'notes', 'mine.md'), 'utf8')).toBe('a file lockstep did not write');
  }, NX_TIMEOUT_MS);
});
