// A long-lived worker standing for one CI machine: it works in its own clone
// (argv[2]) of the shared remote. The parent sends requests over IPC:
//  { op: 'acquire', ... }  acquire (waiting), prove exclusivity with a marker
//                          file created with O_EXCL inside the critical
//                          section, hold for holdMs, release, reply.
//  { op: 'takeover', ... } try (waitMs 0) every pollMs until this worker holds
//                          the lease or sees that someone other than the dead
//                          owner holds it; reply who won.
/** @typedef {import('../../test-utils/worker-protocol').GitLeaseWorker} Protocol its messages, typed for the spec */
const fs = require('fs');
const path = require('path');
const { GitLeaseBackend, parseResource } = require('../../../dist');

const clone = process.argv[2];
const { sleep } = require('../../../dist/util/sleep');
const backends = new Map();
// One backend per option set, as one long-lived CLI process would have.
function backendFor(options) {
  const key = JSON.stringify(options);
  if (!backends.has(key)) backends.set(key, new GitLeaseBackend({ cwd: clone, ...options }));
  return backends.get(key);
}

async function acquireAndHold(msg) {
  const backend = backendFor({ pollMs: msg.pollMs });
  const resource = parseResource(msg.resource);
  const got = await backend.acquire(resource, { owner: msg.owner, ttlMs: msg.ttlMs, waitMs: msg.waitMs });
  const marker = path.join(msg.markerDir, 'inside');
  let violation = false;
  try {
    fs.writeFileSync(marker, `${msg.owner}\n`, { flag: 'wx' });
  } catch (e) {
    violation = true;
  }
  await sleep(msg.holdMs ?? 0);
  if (!violation) fs.rmSync(marker);
  const released = await backend.release(resource, { owner: msg.owner });
  return { ok: true, violation, released: released.released, waitedMs: got.waitedMs, renewed: got.renewed };
}

async function takeover(msg) {
  const backend = backendFor({ marginMs: msg.marginMs });
  const resource = parseResource(msg.resource);
  const deadline = Date.now() + msg.waitMs;
  let tries = 0;
  while (Date.now() < deadline) {
    tries++;
    try {
      const got = await backend.acquire(resource, { owner: msg.owner, ttlMs: msg.ttlMs });
      return { ok: true, won: true, tookOver: got.tookOver && got.tookOver.owner, tries };
    } catch (e) {
      if (e.code !== 'ELEASECONFLICT') throw e;
    }
    const holder = (await backend.status(resource)).find((v) => v.resource === resource.id);
    if (holder && holder.owner !== msg.deadOwner) return { ok: true, won: false, holder: holder.owner, tries };
    await sleep(msg.pollMs * (0.5 + Math.random()));
  }
  return { ok: false, code: 'TIMEOUT', tries };
}

process.on('message', async (msg) => {
  if (msg.op === 'exit') process.exit(0);
  try {
    if (msg.op === 'acquire') process.send({ id: msg.id, ...(await acquireAndHold(msg)) });
    else if (msg.op === 'takeover') process.send({ id: msg.id, ...(await takeover(msg)) });
    else process.send({ id: msg.id, ok: false, code: 'EBADOP' });
  } catch (e) {
    process.send({ id: msg.id, ok: false, code: e.code, message: e.message });
  }
});
process.send({ ready: true });
