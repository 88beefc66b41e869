export { default as generateExecutor } from './executors/generate/executor';
export { normalizeGenerateOptions, type NormalizedGenerateOptions } from './executors/generate/normalize-options';
export { createNodesV2, type LockstepPluginOptions } from './plugins/plugin';
export { initGenerator, type InitGeneratorSchema } from './generators/init/generator';
