/**
 * Nx's cache directory, the value @nx/devkit exports as `cacheDir`, read from
 * the Nx module that defines it (`nx/src/utils/cache-directory`, which the Nx
 * task runner has loaded already) instead of loading all of @nx/devkit: that
 * costs about 120 ms of CPU in every task process, and per-task mode forks one
 * per package. The module is not public API (the plugin reads it the same
 * way); if it moves, devkit's export is the fallback.
 */
export function nxCacheDir(): string {
  try {
    const dir = (require('nx/src/utils/cache-directory') as { cacheDir?: unknown }).cacheDir;
    if (typeof dir === 'string' && dir !== '') return dir;
  } catch {
    /* moved: @nx/devkit's public export below */
  }
  return (require('@nx/devkit') as typeof import('@nx/devkit')).cacheDir;
}
