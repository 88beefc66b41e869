module.exports = {
  projects: ['<rootDir>/packages/core', '<rootDir>/packages/nx', '<rootDir>/packages/cli', '<rootDir>/e2e/nx-e2e'],
  // One test file per two cores: a heavy file (race specs with 5-10 child processes, nx e2e runs)
  // averages 1-1.5 cores by itself and bursts to more while its processes start. On 2 cores that
  // is 1 worker, in band, as jest's default (cores - 1) is too; on 4 cores 2 instead of 3, on 8, 4 instead of 7.
  maxWorkers: '50%',
  // jest's own reporters first (not 'default', which would print jest's summary after ours),
  // then the slowest tests and the closing "lockstep: …" line, which stays the last line.
  reporters: [
    ['<rootDir>/tools/jest/builtin-reporter.js', { name: 'default' }],
    ['<rootDir>/tools/jest/builtin-reporter.js', { name: 'summary' }],
    '<rootDir>/tools/jest/summary-reporter.js',
  ],
};
