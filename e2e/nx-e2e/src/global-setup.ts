/**
 * Runs once per e2e run: packs @lockstep/core, @lockstep/cli and @lockstep/nx
 * from their built dist and installs them with nx into ONE template workspace in a temp
 * dir. Tests make their own small workspaces that link node_modules to it
 * (src/utils/temp-workspace.ts). The paths reach the tests through
 * LOCKSTEP_E2E_ROOT and LOCKSTEP_E2E_TEMPLATE (workers inherit this
 * process's environment); global-teardown.ts removes the temp dir.
 *
 * Set LOCKSTEP_E2E_TEMPLATE to an existing template to skip the install, and
 * LOCKSTEP_E2E_KEEP=1 to keep the temp dir for a look afterwards.
 */
import * as fs from 'fs';
import * as path from 'path';
import { assertFreshBuild, createTemplateWorkspace, makeTempDir, nxBin, packPlugin, removeDir } from '../../../tools/scripts/workspace';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const preset = process.env.LOCKSTEP_E2E_TEMPLATE;
  const reuse = preset !== undefined && fs.existsSync(nxBin(preset));
  if (!reuse) assertFreshBuild();

  const root = makeTempDir('lockstep-nx-e2e-');
  try {
    fs.mkdirSync(path.join(root, 'workspaces'));
    if (reuse) {
      console.log(`\n[nx-e2e] using the template workspace ${preset} (LOCKSTEP_E2E_TEMPLATE)`);
    } else {
      const tarballs = await packPlugin(path.join(root, 'tarballs'));
      const packed = Date.now();
      const template = await createTemplateWorkspace(path.join(root, 'template'), tarballs);
      process.env.LOCKSTEP_E2E_TEMPLATE = template;
      console.log(
        `\n[nx-e2e] packed ${Object.keys(tarballs).join(', ')} in ${packed - started} ms; ` +
          `installed them with nx into ${template} in ${Date.now() - packed} ms`,
      );
    }
  } catch (error) {
    // Jest skips globalTeardown when globalSetup throws.
    removeDir(root);
    throw error;
  }
  (globalThis as Record<string, unknown>).__LOCKSTEP_E2E_ROOT__ = root;
  process.env.LOCKSTEP_E2E_ROOT = root;
}
