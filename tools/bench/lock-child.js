'use strict';
/**
 * A lock participant for the handoff benchmark, forked by lock-bench.js.
 * argv: <core dist dir> <lockDir> <key>
 * Messages in:  { cmd: 'ping' } | { cmd: 'acquire', pollMs? } | { cmd: 'release' }
 * Messages out: { type: 'ready' } | { type: 'pong', t } | { type: 'queued', t }
 *               | { type: 'acquired', t, waitedMs, cpuMs } | { type: 'released', t0, t1, ok } | { type: 'error', message }
 * cpuMs: this process's CPU time (user + system) spent inside acquireLock.
 * Every timestamp is performance.timeOrigin + performance.now() (ms since the
 * epoch, sub-ms resolution), comparable between processes on one host.
 */
const { performance } = require('perf_hooks');

const [coreDir, lockDir, key] = process.argv.slice(2);
const core = require(coreDir);
const now = () => performance.timeOrigin + performance.now();

let handle;

process.on('message', async (msg) => {
  try {
    if (msg.cmd === 'ping') {
      process.send({ type: 'pong', t: now() });
    } else if (msg.cmd === 'acquire') {
      let queuedSent = false;
      const cpu0 = process.cpuUsage();
      handle = await core.acquireLock(key, {
        lockDir,
        ...(msg.pollMs === undefined ? {} : { pollMs: msg.pollMs }),
        // onWait fires once the waiter has its ticket and found the lock held:
        // from then on it is a queued waiter
        onWait: () => {
          if (!queuedSent) {
            queuedSent = true;
            process.send({ type: 'queued', t: now() });
          }
        },
      });
      const t = now(); // immediately after acquire resolves
      const cpu = process.cpuUsage(cpu0);
      process.send({ type: 'acquired', t, waitedMs: handle.waitedMs, queued: queuedSent, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (msg.cmd === 'release') {
      const h = handle;
      handle = undefined;
      const t0 = now(); // immediately before release
      const ok = await h.release();
      const t1 = now();
      process.send({ type: 'released', t0, t1, ok });
    }
  } catch (error) {
    process.send({ type: 'error', message: String((error && error.stack) || error) });
  }
});

process.on('disconnect', async () => {
  if (handle) await handle.release();
  process.exit(0);
});

process.send({ type: 'ready' });
