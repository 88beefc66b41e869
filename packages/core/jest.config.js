module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'core',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // A safety net for a busy 2-core machine (tests that start processes, servers or git set their own).
  // Not `testTimeout`: jest ignores that in a project's config; tools/jest/project-timeout.js applies this.
  globals: { LOCKSTEP_TEST_TIMEOUT_MS: 30_000 },
};
