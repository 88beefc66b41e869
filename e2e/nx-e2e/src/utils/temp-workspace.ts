/**
 * A fresh Nx workspace per test, in the e2e run's temp dir: the given files,
 * node_modules linked to the template of global-setup.ts, `git init`, and
 * the template's real nx binary run with NX_DAEMON=false, NX_NO_CLOUD=true,
 * NX_ISOLATE_PLUGINS=false (see tools/scripts/workspace.js).
 */
import * as fs from 'fs';
import * as path from 'path';
import { FileMap, RunResult, createWorkspace, listFiles, removeDir, runNx, snapshotDir, writeFiles } from '../../../../tools/scripts/workspace';

export type { RunResult } from '../../../../tools/scripts/workspace';

export interface NxRunOptions {
  env?: Record<string, string | undefined>;
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

function e2eRun(): { root: string; template: string } {
  const root = process.env.LOCKSTEP_E2E_ROOT;
  const template = process.env.LOCKSTEP_E2E_TEMPLATE;
  if (!root || !template) {
    throw new Error('LOCKSTEP_E2E_ROOT / LOCKSTEP_E2E_TEMPLATE are not set: run these tests through jest, whose globalSetup (src/global-setup.ts) sets them.');
  }
  return { root, template };
}

export class TempWorkspace {
  constructor(
    readonly root: string,
    private readonly template: string,
  ) {}

  /** Absolute path of a workspace-relative path. */
  path(...segments: string[]): string {
    return path.join(this.root, ...segments);
  }

  write(files: FileMap): void {
    writeFiles(this.root, files);
  }

  /** Runs `nx <args>` in the workspace; never rejects on a non-zero exit. */
  nx(args: string[], options: NxRunOptions = {}): Promise<RunResult> {
    return runNx(this.template, this.root, args, options);
  }

  /** `{ relPath: bytes }` of a workspace-relative directory ({} if it is missing). */
  snapshot(rel: string): Record<string, Buffer> {
    return snapshotDir(this.path(rel));
  }

  /** `{ relPath: mtimeMs }` of the files of a workspace-relative directory. */
  mtimes(rel: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const file of listFiles(this.path(rel))) out[file] = fs.statSync(this.path(rel, file)).mtimeMs;
    return out;
  }

  /** A path for scratch files of this test, outside the workspace (so Nx never sees them). */
  scratch(name: string): string {
    return `${this.root}.${name}`;
  }

  remove(): void {
    if (process.env.LOCKSTEP_E2E_KEEP === '1') return;
    removeDir(this.root);
    for (const entry of fs.readdirSync(path.dirname(this.root))) {
      if (entry.startsWith(`${path.basename(this.root)}.`)) removeDir(path.join(path.dirname(this.root), entry));
    }
  }
}

/** Makes a workspace named `<name>-<random>` with `files` (package.json, nx.json and .gitignore are added). */
export async function createTempWorkspace(name: string, files: FileMap): Promise<TempWorkspace> {
  const { root, template } = e2eRun();
  const dir = fs.mkdtempSync(path.join(root, 'workspaces', `${name}-`));
  await createWorkspace(dir, { templateDir: template, files });
  return new TempWorkspace(dir, template);
}

/** Throws with the command's output unless it exited 0 (so a failure shows why). */
export function expectSuccess(result: RunResult, what: string): void {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code ?? result.signal}, expected 0. Its output:\n${result.output}`);
}

/** Throws with the command's output unless it exited non-zero. */
export function expectFailure(result: RunResult, what: string): void {
  if (result.code === 0) throw new Error(`${what} exited 0, expected a failure. Its output:\n${result.output}`);
}
