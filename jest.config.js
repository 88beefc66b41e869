module.exports = {
  projects: ['<rootDir>/packages/core', '<rootDir>/packages/nx', '<rootDir>/packages/cli', '<rootDir>/e2e/nx-e2e'],
  reporters: ['default', '<rootDir>/tools/jest/summary-reporter.js'],
};
