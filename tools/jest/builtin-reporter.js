// Jest's own reporters, for the `reporters` list of jest.config.js. Listed as
// 'default', jest always adds its summary reporter after every custom reporter,
// so tools/jest/summary-reporter.js could not print the run's closing line last.
// Options: { name: 'default' } (the progress and per-file output: verbose when
// jest would make it so) or { name: 'summary' } (jest's end-of-run summary).
const { DefaultReporter, SummaryReporter, VerboseReporter } = require('@jest/reporters');

module.exports = function BuiltinReporter(globalConfig, options = {}) {
  if (options.name === 'summary') return new SummaryReporter(globalConfig, {});
  return globalConfig.verbose ? new VerboseReporter(globalConfig) : new DefaultReporter(globalConfig);
};
