module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'nx',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
