module.exports = {
  projects: ['<rootDir>/packages/core', '<rootDir>/packages/nx', '<rootDir>/packages/cli', '<rootDir>/e2e/nx-e2e'],
  // jest's own reporters first (not 'default', which would print jest's summary after ours),
  // then the slowest tests and the closing "lockstep: …" line, which stays the last line.
  reporters: [
    ['<rootDir>/tools/jest/builtin-reporter.js', { name: 'default' }],
    ['<rootDir>/tools/jest/builtin-reporter.js', { name: 'summary' }],
    '<rootDir>/tools/jest/summary-reporter.js',
  ],
};
