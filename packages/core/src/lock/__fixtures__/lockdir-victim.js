// The victim of lock-dir race tests: takes and releases locks (or local
// leases) in rounds, with LOCKSTEP_LOCK_DIR from its environment (no explicit
// lockDir), and reports how each round ended: 'ok' or the error code. The
// parent sends { op: 'rounds', rounds, kind: 'lock' | 'lease', holdMs,
// progressFile?, stopAfterRefusals? }.
/** @typedef {import('../../test-utils/worker-protocol').LockDirVictim} Protocol its messages, typed for the spec */
const fs = require('fs');
const { acquireLock, createLeaseBackend, parseResource } = require('../../../dist');

const { sleep } = require('../../../dist/util/sleep');
let leases; // one backend for the life of the process, as a long-lived user keeps it

async function round(msg) {
  if (msg.kind === 'lease') {
    leases ??= createLeaseBackend({ backend: 'local' });
    const resource = parseResource('group:lockdir-race');
    try {
      await leases.acquire(resource, { owner: 'victim', ttlMs: 60_000 });
    } catch (e) {
      return e.code || `NOCODE ${e.message}`;
    }
    if (msg.holdMs) await sleep(msg.holdMs);
    try {
      await leases.release(resource, { owner: 'victim' });
    } catch (e) {
      return `ok, release ${e.code || e.message}`;
    }
    return 'ok';
  }
  let lock;
  try {
    lock = await acquireLock(msg.key, { timeoutMs: 20_000, staleMs: 30_000, releaseOnSignals: false });
  } catch (e) {
    return e.code || `NOCODE ${e.message}`;
  }
  if (msg.holdMs) await sleep(msg.holdMs);
  try {
    await lock.release();
  } catch (e) {
    return `ok, release ${e.code || e.message}`;
  }
  return 'ok';
}

process.on('message', async (msg) => {
  if (msg.op === 'exit') process.exit(0);
  if (msg.op !== 'rounds') return;
  const outcomes = [];
  let refusedInARow = 0;
  for (let i = 0; i < msg.rounds; i++) {
    const outcome = await round(msg);
    outcomes.push(outcome);
    if (msg.progressFile) fs.writeFileSync(msg.progressFile, String(outcomes.length));
    refusedInARow = outcome === 'ELOCKDIRUNSAFE' ? refusedInARow + 1 : 0;
    if (msg.stopAfterRefusals && refusedInARow >= msg.stopAfterRefusals) break;
  }
  process.send({ outcomes });
});
process.send({ ready: true });
