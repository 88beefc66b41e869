import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A private temp dir (0700, as lock dirs must be) removed after each test.
 * Jest runs the afterEach hooks of one describe in declaration order: a hook
 * that stops the test's child processes must be declared before this call
 * (or in an inner describe), or the dir is removed while they still write.
 */
export function useTempDir(prefix = 'lockstep-test-'): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(() => {
    // A child process a test just SIGKILLed may still be writing here as it dies: retry ENOTEMPTY/EBUSY.
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error('useTempDir: only inside a test');
    return dir;
  };
}
