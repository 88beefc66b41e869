module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'nx-e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  globalSetup: '<rootDir>/src/global-setup.ts',
  testTimeout: 240000,
};
