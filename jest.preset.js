// Shared jest settings: ts-jest transpiles only (tsc -b and `npm run typecheck` do the type checking).
const path = require('path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.spec.json') }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(p-queue|p-timeout)/)'],
  moduleNameMapper: {
    '^@lockstep/core$': path.join(__dirname, 'packages/core/src/index.ts'),
    // The publish executors load core's slim entry (@lockstep/core/dist/publish-task): specs get its source, one module instance with the index.
    '^@lockstep/core/dist/(.*)$': path.join(__dirname, 'packages/core/src/$1'),
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // applies a project's globals.LOCKSTEP_TEST_TIMEOUT_MS (jest ignores testTimeout in a project's config)
  setupFilesAfterEnv: [path.join(__dirname, 'tools/jest/project-timeout.js')],
};
