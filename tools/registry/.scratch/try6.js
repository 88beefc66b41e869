const { startRegistry, writeNpmrc } = require('../verdaccio');
const { startFaultProxy } = require('../fault-proxy');
const { createRegistryClient, integrityOf } = require('../../../packages/core/dist/registry');
const pack = require('libnpmpack');
const fs = require('fs'), os = require('os'), path = require('path');
(async () => {
  const r = await startRegistry();
  const p = await startFaultProxy({ target: r.url });
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-'));
  fs.writeFileSync(path.join(ws, 'package.json'), '{"private":true}');
  writeNpmrc(ws, { registry: p.url, token: r.token });
  const env = { HOME: ws, NPM_CONFIG_USERCONFIG: '/nonexistent', NPM_CONFIG_GLOBALCONFIG: '/nonexistent-global' };
  const mk = async (name, v) => { const d = fs.mkdtempSync(path.join(ws, 'p-')); fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ name, version: v })); return pack(d, { ignoreScripts: true }); };
  for (const [label, opts] of [['no faults, 100ms latency', { latencyMs: 100 }], ['30% 429/503 RA=0, 100ms', { latencyMs: 100, faultRate: 0.3, faults: ['429', '503'], retryAfterSeconds: 0, seed: 7 }], ['5% 429/503 RA=0, 100ms', { latencyMs: 100, faultRate: 0.05, faults: ['429', '503'], retryAfterSeconds: 0, seed: 3 }]]) {
    p.setOptions({ faultRate: 0, ...opts });
    const retries = [];
    const c = await createRegistryClient({ cwd: ws, env, retries: 8, onRetry: (i) => retries.push(i) });
    const name = 'bench-' + label.replace(/\W+/g, '-');
    const t = Date.now(); const N = 10;
    for (let i = 0; i < N; i++) { const tgz = await mk(name, `1.0.${i}`); await c.publish({ name, version: `1.0.${i}` }, tgz); await c.waitUntilVisible(name, `1.0.${i}`, integrityOf(tgz), { timeoutMs: 10000 }); }
    console.log(label, ':', ((Date.now() - t) / N) | 0, 'ms per publish+verify; retries', retries.length, 'max delay', Math.max(0, ...retries.map(r => r.delayMs)));
  }
  await p.stop(); await r.stop();
})();
