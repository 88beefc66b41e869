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
  testTimeout: 240000,
};
