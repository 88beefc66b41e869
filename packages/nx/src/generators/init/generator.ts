/**
 * `nx g @lockstep/nx:init`, which `nx add @lockstep/nx` runs after installing
 * the package: registers the inference plugin and adds targetDefaults for
 * publish, nx-release-publish and generate to nx.json.
 *
 * What nx.json already has is the user's and wins: the plugin is never
 * registered twice (under either of its names), an existing targetDefaults
 * entry of lockstep's is only completed with the fields it lacks, and an
 * entry that is not lockstep's (another executor, no executor, or Nx's
 * filtered array form) is left exactly as it is. Running it again writes
 * nothing.
 */
import { formatFiles, logger, readNxJson, updateNxJson, writeJson, type NxJsonConfiguration, type Tree } from '@nx/devkit';
import type { InitGeneratorSchema } from './schema';

export type { InitGeneratorSchema } from './schema';

/** What init writes into nx.json `plugins`: the light entry that loads only the inference plugin. */
export const PLUGIN_ENTRY = '@lockstep/nx/plugin';
/** Either name registers the same plugin (the package main exports createNodesV2 too). */
export const PLUGIN_NAMES: readonly string[] = ['@lockstep/nx', PLUGIN_ENTRY];

export const DEFAULT_PLUGIN_OPTIONS = {
  publishTargetName: 'publish',
  releasePublishTargetName: 'nx-release-publish',
  generateTargetName: 'generate',
};

/**
 * Keyed by target name, each with lockstep's executor: Nx applies a default
 * that names an executor only to targets of that executor (or with none), so
 * another tool's `generate` script never becomes cached with lockstep's
 * outputs, and a bare `"publish": {}` in project.json becomes lockstep's.
 */
export const TARGET_DEFAULTS: Record<'publish' | 'nx-release-publish' | 'generate', Record<string, unknown>> = {
  publish: { executor: '@lockstep/nx:publish', dependsOn: ['^publish'], cache: false },
  // With @nx/js installed, Nx's package.json inference adds its own nx-release-publish
  // (@nx/js:release-publish) to every public package, merged after plugins, so it would
  // replace the inferred one; Nx builds that target from this default, so it becomes lockstep's.
  // No dependsOn: Nx puts "^nx-release-publish" before the default's own (it would be there twice).
  'nx-release-publish': { executor: '@lockstep/nx:publish', cache: false },
  // Not cached: a generate target with "stash" brings outDir up to date from the stash target
  // it depends on, which is what Nx caches (see the plugin); caching it too would let Nx restore
  // outDir wholesale again.
  generate: { executor: '@lockstep/nx:generate', cache: false },
};

/** What an older init wrote for generate: Nx cached outDir itself (and restored it by delete + copy). */
const OLD_GENERATE_DEFAULTS = { executor: '@lockstep/nx:generate', cache: true, outputs: ['{options.outDir}'] };

type TargetDefaults = NonNullable<NxJsonConfiguration['targetDefaults']>;

function pluginName(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object' && typeof (entry as { plugin?: unknown }).plugin === 'string') return (entry as { plugin: string }).plugin;
  return undefined;
}

/** Adds the plugin entry unless one is there. Returns whether nx.json changed. */
function registerPlugin(nxJson: NxJsonConfiguration): boolean {
  const plugins = nxJson.plugins ?? [];
  if (plugins.some((entry) => PLUGIN_NAMES.includes(pluginName(entry) ?? ''))) return false;
  nxJson.plugins = [...plugins, { plugin: PLUGIN_ENTRY, options: { ...DEFAULT_PLUGIN_OPTIONS } }];
  return true;
}

/** Adds or completes lockstep's targetDefaults. Returns whether nx.json changed, and notes for the user. */
function addTargetDefaults(nxJson: NxJsonConfiguration): { changed: boolean; notes: string[] } {
  const targetDefaults: TargetDefaults = (nxJson.targetDefaults ?? {}) as TargetDefaults;
  const notes: string[] = [];
  let changed = false;
  for (const [key, wanted] of Object.entries(TARGET_DEFAULTS)) {
    const executor = wanted.executor as string;
    // Nx reads nx-release-publish's default by name for @nx/js's target whatever the executor-keyed ones say.
    if (key !== 'nx-release-publish' && targetDefaults[executor] !== undefined) {
      // Nx prefers an executor-keyed default over a name-keyed one: a "publish" entry would never apply.
      notes.push(`targetDefaults["${executor}"] is set; it applies to lockstep's ${key} targets, so targetDefaults.${key} was not added.`);
      continue;
    }
    const existing = (targetDefaults as Record<string, unknown>)[key];
    if (existing === undefined) {
      (targetDefaults as Record<string, unknown>)[key] = structuredClone(wanted);
      changed = true;
      continue;
    }
    if (!existing || typeof existing !== 'object' || Array.isArray(existing) || (existing as { executor?: unknown }).executor !== executor) {
      notes.push(
        `targetDefaults.${key} is not lockstep's (${Array.isArray(existing) ? 'filtered entries' : `executor ${JSON.stringify((existing as { executor?: unknown })?.executor ?? 'none')}`}): left as it is. ` +
          `lockstep's defaults are ${JSON.stringify(wanted)}.`,
      );
      continue;
    }
    if (key === 'generate' && JSON.stringify(existing) === JSON.stringify(OLD_GENERATE_DEFAULTS)) {
      // Exactly what an older init wrote: lockstep's own entry, brought up to date.
      (targetDefaults as Record<string, unknown>)[key] = structuredClone(wanted);
      notes.push(`targetDefaults.generate was what an older init wrote (Nx cached outDir itself); now ${JSON.stringify(wanted)}: Nx caches the stash of each generate target instead.`);
      changed = true;
      continue;
    }
    for (const [field, value] of Object.entries(wanted)) {
      if ((existing as Record<string, unknown>)[field] === undefined) {
        (existing as Record<string, unknown>)[field] = structuredClone(value);
        changed = true;
      }
    }
  }
  if (changed) nxJson.targetDefaults = targetDefaults;
  return { changed, notes };
}

/** Register the plugin unless told not to, or unless the workspace opted out of inference plugins (as Nx's own init generators decide). */
function shouldAddPlugin(schema: InitGeneratorSchema, nxJson: NxJsonConfiguration): boolean {
  if (schema.skipPlugin !== undefined) return !schema.skipPlugin;
  return process.env.NX_ADD_PLUGINS !== 'false' && nxJson.useInferencePlugins !== false;
}

export async function initGenerator(tree: Tree, schema: InitGeneratorSchema = {}): Promise<void> {
  const nxJson: NxJsonConfiguration = readNxJson(tree) ?? {};
  let changed = false;
  if (shouldAddPlugin(schema, nxJson)) changed = registerPlugin(nxJson) || changed;
  const defaults = addTargetDefaults(nxJson);
  changed = defaults.changed || changed;
  for (const note of defaults.notes) logger.warn(`[lockstep] ${note}`);
  if (changed) {
    // updateNxJson writes only into an existing nx.json (and keeps its `extends`).
    if (tree.exists('nx.json')) updateNxJson(tree, nxJson);
    else writeJson(tree, 'nx.json', { $schema: './node_modules/nx/schemas/nx-schema.json', ...nxJson });
  }
  if (!schema.skipFormat) await formatFiles(tree);
}

export default initGenerator;
