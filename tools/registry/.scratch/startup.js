const { startRegistry } = require('../verdaccio');
(async () => {
  const times = [];
  for (let i = 0; i < 6; i++) {
    const t = Date.now();
    const r = await startRegistry();
    const ready = Date.now() - t;
    const s = Date.now();
    await r.stop();
    times.push([r.startupMs, Date.now() - s]);
  }
  console.log('startupMs / stopMs:', JSON.stringify(times));
})();
