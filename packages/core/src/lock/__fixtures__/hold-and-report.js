// Acquires a lock, prints "acquired <pid>", then either holds forever (to be
// SIGKILLed), stalls its event loop past the stale window, or exits.
const { acquireLock } = require('../../../dist');
const { sleep } = require('../../../dist/util/sleep');
const [key, lockDir, mode, staleMs, stallMs] = process.argv.slice(2);

(async () => {
  const lock = await acquireLock(key, {
    lockDir,
    staleMs: Number(staleMs || 30000),
    heartbeatMs: Math.max(20, Math.floor(Number(staleMs || 30000) / 10)),
    onCompromised: (e) => console.log(`compromised ${e.code}`),
  });
  console.log(`acquired ${process.pid}`);
  if (mode === 'forever') setInterval(() => undefined, 1000);
  if (mode === 'stall') {
    const until = Date.now() + Number(stallMs);
    while (Date.now() < until) {
      // a blocked event loop: no heartbeat can run
    }
    await sleep(Number(staleMs));
    console.log(`after-stall compromised=${lock.compromised} aborted=${lock.signal.aborted}`);
    console.log(`release=${await lock.release()}`);
  }
  if (mode === 'release') await lock.release();
})().catch((e) => {
  console.log(`error ${e.code} ${e.message}`);
  process.exit(3);
});
