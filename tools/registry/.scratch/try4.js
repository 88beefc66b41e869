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
  const dir = path.join(ws, 'pkg'); fs.mkdirSync(dir);
  const manifest = { name: '@demo/tiny', version: '1.0.0' };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  const tgz = await pack(dir, { ignoreScripts: true });
  const retries = [];
  const t0 = Date.now();
  const c = await createRegistryClient({ cwd: ws, env: { HOME: ws }, onRetry: (i) => retries.push(i) });
  console.log('client in', Date.now() - t0, 'ms', c.registryFor('@demo/tiny'));
  console.log(await c.getPublished('@demo/tiny', '1.0.0'));
  console.log(await c.publish(manifest, tgz, { integrity: integrityOf(tgz) }));
  console.log(await c.getPublished('@demo/tiny', '1.0.0'));
  console.log(await c.publish(manifest, tgz, {}));
  try { await c.publish(manifest, Buffer.concat([tgz, Buffer.from('x')])); } catch (e) { console.log(e.format()); }
  console.log(await c.ensureDistTag('@demo/tiny', '1.0.0', 'next'), await c.ensureDistTag('@demo/tiny', '1.0.0', 'next'));
  await c.waitUntilVisible('@demo/tiny', '1.0.0', integrityOf(tgz), { timeoutMs: 1000 });
  writeNpmrc(ws, { registry: p.url, token: 'bad-token-xyz' });
  const bad = await createRegistryClient({ cwd: ws, env: { HOME: ws } });
  try { await bad.publish({ ...manifest, version: '1.0.1' }, tgz); } catch (e) { console.log(e.format()); console.log(e.stack); }
  console.log(JSON.stringify(p.stats.uploads.map(u => [u.version, u.status])), retries);
  await p.stop(); await r.stop();
})().catch((e) => { console.error(e); process.exit(1); });
