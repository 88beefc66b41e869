// The default timeout of a project's tests and hooks, from its jest config's
// `globals.LOCKSTEP_TEST_TIMEOUT_MS`. Jest 30 takes `testTimeout` only from the
// root config or --testTimeout: in a project's config (run through the root's
// `projects`) it is silently ignored, so the projects set this global instead
// and jest.preset.js loads this file (setupFilesAfterEnv) in every test file.
// A test's own timeout argument, a hook's, and a file's jest.setTimeout still win.
const ms = globalThis.LOCKSTEP_TEST_TIMEOUT_MS;
if (typeof ms === 'number' && ms > 0) jest.setTimeout(ms);
