module.exports = {
  projects: ['<rootDir>/packages/core', '<rootDir>/packages/nx', '<rootDir>/packages/cli', '<rootDir>/e2e/nx-e2e'],
  // Two test files at a time: most of a heavy file's time is spent waiting (nx start-up, registry
  // round trips, processes polling), so two overlap well on 2 cores (jest 483 s → 294 s on a fresh
  // clone) and every test's timeouts are sized for a loaded machine. Fixed at 2, not a share of the
  // cores: on bigger machines more files at once would only multiply the processes they start.
  maxWorkers: 2,
  // jest's own reporters first (not 'default', which would print jest's summary after ours),
  // then the slowest tests and the closing "lockstep: …" line, which stays the last line.
  reporters: [
    ['<rootDir>/tools/jest/builtin-reporter.js', { name: 'default' }],
    ['<rootDir>/tools/jest/builtin-reporter.js', { name: 'summary' }],
    '<rootDir>/tools/jest/summary-reporter.js',
  ],
};
