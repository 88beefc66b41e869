// One run of a concurrency group, in its own process. Config is JSON in argv[2]:
// { key, group, lockDir, max, cancelInProgress, graceMs, holdMs, releaseFile, markerDir, onTerm }
// onTerm: 'graceful' (say by whom, stop after stopMs, release) | 'ignore' (keep holding).
// Prints one JSON event per line on stdout.
/** @typedef {import('../../test-utils/worker-protocol').GroupMemberEvent} Protocol its stdout lines, typed for the spec */
const fs = require('fs');
const path = require('path');
const { acquireGroup, describeSupersede } = require('../../../dist');

const cfg = JSON.parse(process.argv[2]);
const emit = (event) => process.stdout.write(`${JSON.stringify({ pid: process.pid, t: Date.now(), ...event })}\n`);
const { sleep } = require('../../../dist/util/sleep');
let handle;

process.on('SIGTERM', async () => {
  if (!handle) return; // waiting: the lock left the queue and rejects
  emit({ event: 'sigterm', by: describeSupersede(handle) });
  if (cfg.onTerm === 'ignore') return;
  await sleep(cfg.stopMs ?? 50);
  leave();
  emit({ event: 'releasing' });
  await handle.release();
  emit({ event: 'released' });
  process.exit(143);
});

function leave() {
  if (cfg.markerDir) fs.rmSync(path.join(cfg.markerDir, String(process.pid)), { force: true });
}

(async () => {
  if (cfg.goFile) {
    // start together with the others: spin until the test says go
    emit({ event: 'ready' });
    while (!fs.existsSync(cfg.goFile)) await sleep(1);
  }
  try {
    handle = await acquireGroup({
      group: cfg.group ?? 'g',
      key: cfg.key,
      max: cfg.max,
      cancelInProgress: cfg.cancelInProgress,
      killGraceMs: cfg.graceMs,
      waitTimeoutMs: cfg.waitTimeoutMs ?? 60_000,
      log: (line) => emit({ event: 'log', line }),
      lock: { lockDir: cfg.lockDir, releaseOnSignals: 'while-waiting', pollMs: cfg.pollMs, ...(cfg.runPid ? { share: true, pid: cfg.runPid } : {}) },
    });
  } catch (error) {
    emit({ event: 'error', code: error.code, message: error.message });
    process.exit(1);
  }
  if (cfg.detach) {
    // a task of a shared run: report which slot it is in and leave the hold to the run
    emit({ event: 'acquired', slot: handle.slot, joined: handle.joined });
    handle.detach();
    process.exit(0);
  }
  let concurrent = 0;
  if (cfg.markerDir) {
    fs.writeFileSync(path.join(cfg.markerDir, String(process.pid)), '', { flag: 'wx' });
    concurrent = fs.readdirSync(cfg.markerDir).length;
  }
  emit({ event: 'acquired', slot: handle.slot, concurrent });
  await sleep(cfg.holdMs ?? 0);
  // hold until the test says so (it has set up what must happen while this one holds)
  if (cfg.releaseFile) while (!fs.existsSync(cfg.releaseFile)) await sleep(5);
  if (cfg.markerDir) concurrent = Math.max(concurrent, fs.readdirSync(cfg.markerDir).length);
  // stamped while still holding: the span [acquired, releasing] lies inside the hold
  emit({ event: 'releasing' });
  leave();
  await handle.release();
  emit({ event: 'released', concurrent });
  process.exit(0);
})();
