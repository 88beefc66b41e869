'use strict';
/**
 * PROTOTYPE for the bench report only (used through lock-child.js by
 * lock-poll-sweep.js): the waiting loop proposed for
 * packages/core/src/lock/lock.ts, built from the compiled mutex and ticket
 * queue of packages/core/dist, so it can be measured without touching
 * packages/. It covers the path the handoff benchmark exercises (FIFO ticket,
 * head waiter takes the mutex, release through removeHolder); no heartbeat,
 * no abort signal, no timeout: not a library.
 *
 * Differences from acquireLock as shipped:
 *   1. The head waiter looks before it leaps: inspectHolder (stat + read
 *      owner.json + pid probe) first, and tryTakeHeld (mkdir tmp, write
 *      owner.json, rename, rm on failure: two inodes created and deleted)
 *      only when the holder is gone, dead or stale. Mutual exclusion still
 *      comes from the rename alone; the look is only a hint.
 *   2. (watch: true) fs.watch on the mutex directory wakes the head waiter as
 *      soon as `held` is renamed away; polling stays as the fallback
 *      (inotify is not available everywhere, e.g. network file systems).
 */
const fs = require('fs');
const path = require('path');

function load(coreDir) {
  return {
    core: require(coreDir),
    mutex: require(path.join(coreDir, 'lock', 'mutex')),
    queue: require(path.join(coreDir, 'lock', 'ticket-queue')),
    owner: require(path.join(coreDir, 'lock', 'owner')),
  };
}

async function acquireProto(coreDir, key, { lockDir, pollMs = 5, watch = false, staleMs = 30_000, onWait } = {}) {
  const { core, mutex, queue, owner } = load(coreDir);
  const probe = core.systemProcessProbe;
  const paths = mutex.mutexPaths(lockDir, key);
  mutex.ensureMutexDirs(paths, key);
  const me = owner.makeOwner(key, probe, process.pid, 'bench proto');
  const started = Date.now();
  const handle = () => ({
    waitedMs: Date.now() - started,
    release: async () => mutex.removeHolder(paths, me.token, me, probe, staleMs),
  });

  if (queue.listTickets(paths).length === 0 && mutex.tryTakeHeld(paths, me)) return handle();
  const ticket = queue.enqueue(paths, me);
  let wake;
  let changed = false; // an event that came while we were not sleeping must not be lost
  const watcher = watch
    ? fs.watch(paths.base, () => {
        changed = true;
        if (wake) wake();
      })
    : undefined;
  let reported = false;
  try {
    for (;;) {
      changed = false;
      const ahead = queue.listTickets(paths).filter((t) => t.seq < ticket.seq);
      if (ahead.length === 0) {
        const holder = mutex.inspectHolder(paths, probe, staleMs);
        if (holder.state === 'dead' || holder.state === 'stale') {
          mutex.removeHolder(paths, holder.identity, me, probe, staleMs);
          mutex.sweepLeftovers(paths, probe);
        }
        if (holder.state !== 'alive' && mutex.tryTakeHeld(paths, me)) {
          queue.leaveQueue(paths, ticket);
          return handle();
        }
      }
      if (!reported) {
        reported = true;
        if (onWait) onWait({ ahead: ahead.length });
      }
      if (changed) continue;
      await new Promise((resolve) => {
        const timer = setTimeout(done, ahead.length === 0 ? pollMs : pollMs * 4);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    if (watcher) watcher.close();
  }
}

module.exports = { acquireProto };
