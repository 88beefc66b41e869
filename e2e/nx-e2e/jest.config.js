const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'nx-e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  globalSetup: '<rootDir>/src/global-setup.ts',
  globalTeardown: '<rootDir>/src/global-teardown.ts',
  // The shared helpers in tools/scripts are plain CommonJS: load them as they are.
  transformIgnorePatterns: [...preset.transformIgnorePatterns, '/tools/scripts/'],
  // Every e2e test runs nx: minutes on a busy 2-core machine. Not `testTimeout`, which jest ignores in a
  // project's config (it never applied here); tools/jest/project-timeout.js applies this.
  globals: { LOCKSTEP_TEST_TIMEOUT_MS: 240_000 },
};
