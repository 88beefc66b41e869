const { startRegistry, writeNpmrc } = require('../verdaccio');
const { startFaultProxy } = require('../fault-proxy');
const { createRegistryClient, integrityOf } = require('../../../packages/core/dist/registry');
const pack = require('libnpmpack');
const fs = require('fs'), os = require('os'), path = require('path');
(async () => {
  const r = await startRegistry();
  const p = await startFaultProxy({ target: r.url, latencyMs: 100, faultRate: 0.3, faults: ['429', '503'], retryAfterSeconds: 0, seed: 7 });
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-'));
  fs.writeFileSync(path.join(ws, 'package.json'), '{"private":true}');
  writeNpmrc(ws, { registry: p.url, token: r.token });
  const env = { HOME: ws, NPM_CONFIG_USERCONFIG: '/nonexistent', NPM_CONFIG_GLOBALCONFIG: '/nonexistent-global' };
  const mk = async (name, v) => { const d = fs.mkdtempSync(path.join(ws, 'p-')); fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ name, version: v })); return pack(d, { ignoreScripts: true }); };
  const c = await createRegistryClient({ cwd: ws, env, retries: 8, onRetry: (i) => console.log('  retry', i.operation, i.reason, i.delayMs) });
  for (let i = 0; i < 5; i++) {
    const tgz = await mk('x', `1.0.${i}`);
    let t = Date.now(); await c.publish({ name: 'x', version: `1.0.${i}` }, tgz); const a = Date.now() - t;
    t = Date.now(); await c.waitUntilVisible('x', `1.0.${i}`, integrityOf(tgz), { timeoutMs: 10000 }); const b = Date.now() - t;
    console.log(i, 'publish', a, 'verify', b);
  }
  console.log(p.stats.log.map(l => `${l.method} ${l.status} ${(l.end - l.start) | 0}`).join('\n'));
  await p.stop(); await r.stop();
})();
