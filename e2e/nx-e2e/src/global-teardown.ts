/** Removes the temp dir of global-setup.ts (the template and every test workspace), unless LOCKSTEP_E2E_KEEP=1. */
import { removeDir } from '../../../tools/scripts/workspace';

export default async function globalTeardown(): Promise<void> {
  const root = (globalThis as Record<string, unknown>).__LOCKSTEP_E2E_ROOT__ as string | undefined;
  if (!root) return;
  if (process.env.LOCKSTEP_E2E_KEEP === '1') {
    console.log(`[nx-e2e] kept ${root} (LOCKSTEP_E2E_KEEP=1)`);
    return;
  }
  removeDir(root);
}
