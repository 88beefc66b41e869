import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ExecutorContext } from '@nx/devkit';
import generateExecutor from './executor';

describe('generate executor', () => {
  let root: string;
  let logs: string[];
  const context = (): ExecutorContext =>
    ({
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'app',
      projectsConfigurations: { version: 2, projects: { app: { root: 'apps/app' } } },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    }) as unknown as ExecutorContext;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lockstep-exec-'));
    mkdirSync(path.join(root, 'tools'));
    mkdirSync(path.join(root, 'locks'), { mode: 0o700 });
    process.env.LOCKSTEP_LOCK_DIR = path.join(root, 'locks');
    logs = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
    jest.spyOn(console, 'error').mockImplementation((line: string) => void logs.push(line));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    delete process.env.LOCKSTEP_LOCK_DIR;
    rmSync(root, { recursive: true, force: true });
  });

  it('loads the generator module, commits its files and reports counts', async () => {
    writeFileSync(path.join(root, 'tools', 'gen.js'), 'exports.generate = (ctx) => { ctx.emit("a.txt", ctx.projectName); };');
    expect(await generateExecutor({ outDir: 'dist/gen', generator: 'tools/gen.js' }, context())).toEqual({ success: true });
    expect(readFileSync(path.join(root, 'dist/gen/a.txt'), 'utf8')).toBe('app');
    expect(logs.join('\n')).toMatch(/dist\/gen: 1 files, 1 written, 0 unchanged, 0 pruned/);
  });

  it('accepts an ES module with a default export (in a real node process: jest cannot import ESM)', () => {
    writeFileSync(path.join(root, 'tools', 'gen.mjs'), 'export default { generate: () => ({ "m.txt": "esm" }) };');
    const executor = path.join(__dirname, '../../../dist/executors/generate/executor.js');
    const script = `require(${JSON.stringify(executor)}).default({ outDir: 'dist/gen', generator: 'tools/gen.mjs' }, ${JSON.stringify(context())}).then((r) => console.log(JSON.stringify(r)))`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env } });
    expect(out).toContain('{"success":true}');
    expect(readFileSync(path.join(root, 'dist/gen/m.txt'), 'utf8')).toBe('esm');
    // a node process that loads the built executor (and @nx/devkit): seconds on a busy 2-core machine
  }, 60_000);

  it('fails without throwing, with a code and a hint, for a missing module', async () => {
    expect(await generateExecutor({ outDir: 'dist/gen', generator: 'tools/nope.js' }, context())).toEqual({ success: false });
    expect(logs.join('\n')).toMatch(/\[EBADOPTIONS\] Cannot find the generator module 'tools\/nope.js'[\s\S]*Hint:/);
  });

  it('fails for a module without a generate function', async () => {
    writeFileSync(path.join(root, 'tools', 'empty.js'), 'exports.other = 1;');
    expect(await generateExecutor({ outDir: 'dist/gen', generator: 'tools/empty.js' }, context())).toEqual({ success: false });
    expect(logs.join('\n')).toContain('does not export a generate function');
  });

  it('refuses TypeScript generator modules with a hint', async () => {
    writeFileSync(path.join(root, 'tools', 'gen.ts'), 'export const generate = () => ({});');
    expect(await generateExecutor({ outDir: 'dist/gen', generator: 'tools/gen.ts' }, context())).toEqual({ success: false });
    expect(logs.join('\n')).toMatch(/TypeScript[\s\S]*Hint: Compile it/);
  });

  it('the built-in package generator writes a publish-ready copy with internal specs rewritten', async () => {
    const write = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    write('libs/utils/package.json', JSON.stringify({ name: '@d/utils', version: '2.1.0' }));
    write('apps/app/package.json', JSON.stringify({ name: '@d/app', version: '1.0.0', files: ['index.js'], dependencies: { '@d/utils': 'workspace:^' } }));
    write('apps/app/index.js', 'module.exports = 1;');
    write('apps/app/secret-notes.txt', 'not published');
    const ctx = context();
    (ctx.projectsConfigurations.projects as Record<string, { root: string }>).utils = { root: 'libs/utils' };
    expect(await generateExecutor({ outDir: 'dist/apps/app', generator: 'package' }, ctx)).toEqual({ success: true });
    const manifest = JSON.parse(readFileSync(path.join(root, 'dist/apps/app/package.json'), 'utf8'));
    expect(manifest.dependencies).toEqual({ '@d/utils': '^2.1.0' });
    expect(readFileSync(path.join(root, 'dist/apps/app/index.js'), 'utf8')).toBe('module.exports = 1;');
    expect(() => readFileSync(path.join(root, 'dist/apps/app/secret-notes.txt'))).toThrow();
  });

  it('reports a throwing generator as EGENERATOR with its message', async () => {
    writeFileSync(path.join(root, 'tools', 'bad.js'), 'exports.generate = () => { throw new Error("boom in generator"); };');
    expect(await generateExecutor({ outDir: 'dist/gen', generator: 'tools/bad.js' }, context())).toEqual({ success: false });
    expect(logs.join('\n')).toMatch(/\[EGENERATOR\] The generator tools\/bad.js failed: boom in generator/);
  });

  describe('with "stash": the hold, stash and sync tasks', () => {
    const stashOptions = { outDir: 'dist/gen', generator: 'tools/gen.js', stash: true };
    const withGraph = (targetName: string, targets: Record<string, unknown>, stashHash = 'h1'): ExecutorContext =>
      ({
        ...context(),
        targetName,
        projectsConfigurations: { version: 2, projects: { app: { root: 'apps/app', targets } } },
        taskGraph: {
          roots: ['app:generate--hold'],
          tasks: {
            'app:generate': { id: 'app:generate', target: { project: 'app', target: 'generate' } },
            'app:generate--stash': { id: 'app:generate--stash', target: { project: 'app', target: 'generate--stash' }, hash: stashHash },
          },
          dependencies: { 'app:generate': ['app:generate--stash'], 'app:generate--stash': [] },
        },
      }) as unknown as ExecutorContext;
    const targets = (sync: Record<string, unknown> = {}) => ({
      generate: { executor: '@lockstep/nx:generate', options: stashOptions, ...sync },
      'generate--stash': { executor: '@lockstep/nx:generate', options: { ...stashOptions, phase: 'stash' } },
    });
    afterEach(() => delete process.env.NX_TASK_HASH);

    it('the stash task fills the stash (not outDir); the sync task brings outDir up to date from it', async () => {
      writeFileSync(path.join(root, 'tools', 'gen.js'), 'exports.generate = (ctx) => { ctx.emit("a.txt", "A"); ctx.emit("run.sh", "#!/bin/sh", { mode: 0o755 }); };');
      expect(await generateExecutor({ ...stashOptions, phase: 'hold' }, withGraph('generate--hold', targets()))).toEqual({ success: true });
      process.env.NX_TASK_HASH = 'h1';
      expect(await generateExecutor({ ...stashOptions, phase: 'stash' }, withGraph('generate--stash', targets()))).toEqual({ success: true });
      expect(readFileSync(path.join(root, 'dist/.gen.lockstep-stash/a.txt'), 'utf8')).toBe('A');
      expect(existsSync(path.join(root, 'dist/gen/a.txt'))).toBe(false);
      expect(await generateExecutor(stashOptions, withGraph('generate', targets()))).toEqual({ success: true });
      expect(readFileSync(path.join(root, 'dist/gen/a.txt'), 'utf8')).toBe('A');
      expect(statSync(path.join(root, 'dist/gen/run.sh')).mode & 0o777).toBe(0o755);
      expect(logs.join('\n')).toMatch(/dist\/gen: generated into the stash dist\/\.gen\.lockstep-stash: 2 files, 2 written/);
      expect(logs.join('\n')).toMatch(/dist\/gen: 2 files from the stash dist\/\.gen\.lockstep-stash, 2 written, 0 unchanged, 0 pruned/);
    });

    it('a sync whose stash task had another hash fails with ESTASH; a cached sync target is refused with EBADOPTIONS', async () => {
      writeFileSync(path.join(root, 'tools', 'gen.js'), 'exports.generate = () => ({ "a.txt": "A" });');
      process.env.NX_TASK_HASH = 'h1';
      await generateExecutor({ ...stashOptions, phase: 'stash' }, withGraph('generate--stash', targets()));
      expect(await generateExecutor(stashOptions, withGraph('generate', targets(), 'h2'))).toEqual({ success: false });
      expect(logs.join('\n')).toMatch(/\[ESTASH\] .*task hash h1, not h2[\s\S]*Hint:/);
      expect(await generateExecutor(stashOptions, withGraph('generate', targets({ cache: true, outputs: ['{options.outDir}'] })))).toEqual({ success: false });
      expect(logs.join('\n')).toMatch(/\[EBADOPTIONS\] app:generate brings outDir up to date from its stash and must not be cached[\s\S]*Hint: Remove "cache" and "outputs"/);
      expect(existsSync(path.join(root, 'dist/gen/a.txt'))).toBe(false);
    });
  });
});
