// A long-lived worker for local lease race tests. The parent sends requests
// over IPC; exclusivity is proven with a marker file created with O_EXCL while
// the lease is held. Loads packages/core/dist (build core first).
/** @typedef {import('../../test-utils/worker-protocol').LocalLeaseWorker} Protocol its messages, typed for the spec */
const fs = require('fs');
const path = require('path');
const { LocalLeaseBackend, parseResource } = require('../../../dist');

const { sleep } = require('../../../dist/util/sleep');
let held; // { backend, resource, owner, violation }

function enter(markerDir) {
  try {
    fs.writeFileSync(path.join(markerDir, 'inside'), String(process.pid), { flag: 'wx' });
    return false;
  } catch {
    return true;
  }
}

process.on('message', async (msg) => {
  if (msg.op === 'exit') process.exit(0);
  const reply = (body) => process.send({ id: msg.id, ...body });
  try {
    if (msg.op === 'acquire') {
      // Wait for the lease, hold it for holdMs inside the marker, release.
      const backend = new LocalLeaseBackend({ lockDir: msg.lockDir });
      const resource = parseResource(msg.resource);
      const result = await backend.acquire(resource, { owner: msg.owner, ttlMs: msg.ttlMs ?? 60_000, waitMs: msg.waitMs ?? 20_000, pollMs: msg.pollMs ?? 5 });
      const violation = enter(msg.markerDir);
      await sleep(msg.holdMs ?? 0);
      if (!violation) fs.rmSync(path.join(msg.markerDir, 'inside'));
      const released = await backend.release(resource, { owner: msg.owner });
      reply({ ok: true, violation, released: released.released, tookOver: result.tookOver ? result.tookOver.owner : undefined });
    } else if (msg.op === 'try') {
      // One attempt, no waiting; keep the lease (and the marker) until 'release'.
      const backend = new LocalLeaseBackend({ lockDir: msg.lockDir });
      const resource = parseResource(msg.resource);
      const result = await backend.acquire(resource, { owner: msg.owner, ttlMs: msg.ttlMs ?? 60_000 });
      const violation = enter(msg.markerDir);
      held = { backend, resource, owner: msg.owner, violation, markerDir: msg.markerDir };
      reply({ ok: true, violation, tookOver: result.tookOver ? result.tookOver.owner : undefined });
    } else if (msg.op === 'release') {
      if (!held) return reply({ ok: true, released: false });
      const { backend, resource, owner, violation, markerDir } = held;
      held = undefined;
      if (!violation) fs.rmSync(path.join(markerDir, 'inside'));
      const released = await backend.release(resource, { owner });
      reply({ ok: true, released: released.released });
    }
  } catch (e) {
    reply({ ok: false, code: e.code, message: e.message });
  }
});
process.send({ ready: true });
