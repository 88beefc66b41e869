import * as path from 'path';
import { pathToFileURL } from 'url';
import { ErrorCodes, GeneratorFunction, LockstepError } from '@lockstep/core';

/**
 * Loads a generator module: a workspace-relative path or a package name,
 * exporting `generate` (named, on a default export object, or as the default
 * export itself).
 */
export async function loadGenerator(specifier: string, workspaceRoot: string): Promise<GeneratorFunction> {
  let resolved: string | undefined;
  let lastError: unknown;
  // A workspace-relative path first, then an installed package (or its subpath).
  for (const request of [path.resolve(workspaceRoot, specifier), specifier]) {
    try {
      resolved = require.resolve(request, { paths: [workspaceRoot] });
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (resolved === undefined) {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `Cannot find the generator module '${specifier}' (looked from ${workspaceRoot}).`, {
      hint: 'Give a path relative to the workspace root, such as "tools/generators/api.js", or an installed package name.',
      cause: lastError,
    });
  }
  if (/\.(c|m)?tsx?$/.test(resolved)) {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `The generator module '${specifier}' is TypeScript, which Node cannot load directly.`, {
      hint: 'Compile it to .js (or .mjs) first, or use "command": "npx tsx your-generator.ts" writing to $LOCKSTEP_OUT_DIR.',
    });
  }
  let mod: Record<string, unknown>;
  try {
    mod = await loadModule(resolved);
  } catch (error) {
    throw new LockstepError(ErrorCodes.EGENERATOR, `Loading the generator module '${specifier}' failed: ${(error as Error).message}`, {
      hint: 'outDir was left as it was. Fix the module and run again.',
      cause: error,
    });
  }
  const candidates = [mod.generate, (mod.default as Record<string, unknown> | undefined)?.generate, mod.default];
  const generate = candidates.find((c) => typeof c === 'function') as GeneratorFunction | undefined;
  if (!generate) {
    throw new LockstepError(ErrorCodes.EBADOPTIONS, `The generator module '${specifier}' does not export a generate function.`, {
      hint: 'Export it: module.exports.generate = async (ctx) => { ctx.emit("index.ts", "…") }.',
    });
  }
  return generate;
}

// A real dynamic import: TypeScript would compile `import()` to `require()` under CommonJS.
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/** require() first (CommonJS, and ES modules on Node ≥ 20.19); import() for ES modules it cannot load. */
async function loadModule(file: string): Promise<Record<string, unknown>> {
  try {
    return require(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE' && !/Must use import/.test(String((error as Error).message))) throw error;
    return nativeImport(pathToFileURL(file).href);
  }
}
