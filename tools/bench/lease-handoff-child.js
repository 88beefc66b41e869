'use strict';
// The waiter of lease-bench.js's group handoff: acquires when told, stamps, releases.
const path = require('path');
const { performance } = require('perf_hooks');
const core = require(path.join(__dirname, '..', '..', 'packages', 'core', 'dist'));

process.on('message', async (msg) => {
  if (msg.op !== 'acquire') return;
  const handle = await core.acquireGroup({ group: 'bench', log: () => {}, lock: { lockDir: msg.lockDir } });
  const acquiredAt = performance.timeOrigin + performance.now();
  await handle.release();
  process.send({ acquiredAt });
});
