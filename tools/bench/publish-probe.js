'use strict';
/**
 * Preloaded into every process of a benchmarked `nx run-many` (NODE_OPTIONS
 * `--require`), it records when the process started, when Node had booted,
 * when the executor (lockstep's publish executor/batch, or the bench's no-op)
 * was entered and left, and when the process exited. A JSON line per
 * process is appended when the executor returns and again at exit (readers
 * keep the last line of each pid) to $LSB_PROBE_FILE (an O_APPEND write of a few hundred
 * bytes, so lines from concurrent processes do not mix).
 *
 * Times are epoch milliseconds on the same clock the fault proxy stamps its
 * requests with (performance.timeOrigin + performance.now()), so a task's
 * executor window can be laid over the registry requests it made.
 * Cost: one Module._load wrapper doing a string test per require.
 */
const fs = require('fs');
const Module = require('module');
const { performance } = require('perf_hooks');

const file = process.env.LSB_PROBE_FILE;
if (file) {
  const now = () => performance.timeOrigin + performance.now();
  const record = {
    pid: process.pid,
    ppid: process.ppid,
    argv: process.argv.slice(1, 4).map((a) => a.slice(-60)),
    project: process.env.NX_TASK_TARGET_PROJECT,
    target: process.env.NX_TASK_TARGET_TARGET,
    start: performance.timeOrigin,
    preload: now(),
    executor: undefined,
    loadStart: undefined,
    loaded: undefined,
    execStart: undefined,
    execEnd: undefined,
    exit: undefined,
  };
  const EXECUTOR = /(executors[\\/]publish[\\/](executor|batch)\.js|lockstep-bench-noop[\\/]noop(-batch)?\.js)$/;
  const originalLoad = Module._load;
  Module._load = function load(request, parent, isMain) {
    const match = typeof request === 'string' && EXECUTOR.exec(request);
    if (!match || record.executor) return originalLoad.apply(this, arguments);
    record.executor = match[2] ? `publish-${match[2]}` : `noop${match[3] || ''}`;
    record.loadStart = now();
    const exports = originalLoad.apply(this, arguments);
    record.loaded = now();
    const original = exports && exports.default;
    if (typeof original === 'function') {
      const wrapped = async function probed(...args) {
        record.execStart ??= now();
        try {
          return await original.apply(this, args);
        } finally {
          record.execEnd = now();
          // Nx may end a batch worker with a signal, which skips 'exit': write now as well.
          write();
        }
      };
      try {
        exports.default = wrapped;
      } catch {
        // a read-only export: no exec window for this process
      }
    }
    return exports;
  };
  function write() {
    try {
      fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
    } catch {
      // the probe must never fail the process
    }
  }
  process.on('exit', () => {
    record.exit = now();
    write();
  });
}
