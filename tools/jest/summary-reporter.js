// Prints the slowest tests of the run (name, file, duration), then one closing
// line, "lockstep: N passed, N failed, N skipped", so the result of a run can be
// read without parsing jest's table. The closing line is always the last line.
const path = require('path');

const SLOWEST = 10;

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = (globalConfig && globalConfig.rootDir) || process.cwd();
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const slowest = this.slowest(results);
    let out = '';
    if (slowest.length > 0) {
      out += `\nslowest ${slowest.length} tests:\n`;
      const width = Math.max(...slowest.map((t) => formatDuration(t.duration).length));
      for (const t of slowest) out += `  ${formatDuration(t.duration).padStart(width)}  ${t.name}  (${t.file})\n`;
    }
    // A file that fails to load has no failed test, but the run failed: say so on the same line.
    const broken = results.numRuntimeErrorTestSuites;
    out += `\nlockstep: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped${broken ? `, ${broken} test files failed to run` : ''}\n`;
    process.stdout.write(out);
  }

  /** The tests that took longest (passed or failed; skipped ones have no duration). */
  slowest(results) {
    const tests = [];
    for (const file of results.testResults || []) {
      for (const test of file.testResults || []) {
        if (typeof test.duration !== 'number' || (test.status !== 'passed' && test.status !== 'failed')) continue;
        tests.push({ name: test.fullName || test.title, file: path.relative(this.rootDir, file.testFilePath), duration: test.duration });
      }
    }
    return tests.sort((a, b) => b.duration - a.duration).slice(0, SLOWEST);
  }
}

function formatDuration(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

module.exports = SummaryReporter;
