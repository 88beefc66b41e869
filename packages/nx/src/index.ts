export { default as generateExecutor } from './executors/generate/executor';
export { normalizeGenerateOptions, type NormalizedGenerateOptions } from './executors/generate/normalize-options';
