// A long-lived worker for lock race tests. The parent sends { op: 'acquire', ... }
// over IPC; the worker acquires, proves exclusivity with a marker file created
// with O_EXCL inside the critical section, holds for holdMs (and, with releaseFile,
// until that file exists), releases, replies.
/** @typedef {import('../../test-utils/worker-protocol').LockWorker} Protocol its messages, typed for the spec */
const fs = require('fs');
const path = require('path');
const { acquireLock } = require('../../../dist');

const { sleep } = require('../../../dist/util/sleep');

process.on('message', async (msg) => {
  if (msg.op === 'exit') process.exit(0);
  if (msg.op !== 'acquire') return;
  const t0 = Date.now();
  try {
    const lock = await acquireLock(msg.key, { lockDir: msg.lockDir, staleMs: msg.staleMs, timeoutMs: msg.timeoutMs ?? 20000 });
    const acquiredAt = Date.now();
    const marker = path.join(msg.markerDir, 'inside');
    let violation = false;
    try {
      fs.writeFileSync(marker, String(process.pid), { flag: 'wx' });
    } catch (e) {
      violation = true;
    }
    if (msg.order) fs.appendFileSync(path.join(msg.markerDir, 'order'), `${msg.id}\n`);
    await sleep(msg.holdMs ?? 0);
    // hold until the test says so (it has set up what must happen while this one holds)
    if (msg.releaseFile) while (!fs.existsSync(msg.releaseFile)) await sleep(5);
    if (!violation) fs.rmSync(marker);
    const released = await lock.release();
    process.send({ id: msg.id, ok: true, violation, waitedMs: acquiredAt - t0, released, compromised: lock.compromised, reason: lock.signal.aborted ? String(lock.signal.reason && lock.signal.reason.message) : undefined });
  } catch (e) {
    process.send({ id: msg.id, ok: false, code: e.code, message: e.message });
  }
});
process.send({ ready: true });
