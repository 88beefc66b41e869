const { startRegistry } = require('../verdaccio');
const { startFaultProxy } = require('../fault-proxy');
const { publish } = require('libnpmpublish');
const pack = require('libnpmpack');
const fs = require('fs'), os = require('os'), path = require('path');
const fetch2 = require('npm-registry-fetch');
(async () => {
  const r = await startRegistry();
  const p = await startFaultProxy({ target: r.url, latencyMs: 20 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pk-'));
  const manifest = { name: 'tiny', version: '1.0.0' };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  const tgz = await pack(dir, { ignoreScripts: true });
  const opts = { registry: p.url, ['//127.0.0.1:' + p.port + '/:_authToken']: r.token, retry: { retries: 0 } };
  await publish(manifest, tgz, opts);
  const doc = await fetch2.json('/tiny', { ...opts, preferOnline: true });
  console.log(doc.versions['1.0.0'].dist.tarball);
  const t = await fetch2(doc.versions['1.0.0'].dist.tarball, opts); console.log('tarball', t.status, (await t.buffer()).equals(tgz));
  p.setOptions({ rules: (i) => i.isUpload ? 'reset-after' : undefined });
  try { await publish({ ...manifest, version: '1.0.1' }, tgz, opts); } catch (e) { console.log('reset-after:', e.code, e.message); }
  const d2 = await fetch2.json('/tiny', { ...opts, preferOnline: true }); console.log(Object.keys(d2.versions));
  p.setOptions({ rules: (i) => i.isUpload ? '503' : undefined });
  try { await publish({ ...manifest, version: '1.0.2' }, tgz, opts); } catch (e) { console.log('503:', e.code, e.message, e.headers); }
  p.setOptions({ rules: () => 'reset' });
  try { await fetch2.json('/tiny', opts); } catch (e) { console.log('GET reset:', e.code, e.type, e.message); }
  p.setOptions({ rules: undefined });
  console.log(JSON.stringify(p.stats.uploads), p.stats.requests, p.stats.faults);
  await p.stop(); await r.stop();
})().catch((e) => { console.error(e); process.exit(1); });
