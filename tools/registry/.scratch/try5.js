const { startRegistry } = require('../verdaccio');
const { startFaultProxy } = require('../fault-proxy');
const { publish } = require('libnpmpublish');
const pack = require('libnpmpack');
const fs = require('fs'), os = require('os'), path = require('path');
(async () => {
  const r = await startRegistry();
  const p = await startFaultProxy({ target: r.url });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pk-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'tiny', version: '1.0.0' }));
  const tgz = await pack(dir, { ignoreScripts: true });
  const base = { registry: p.url, ['//127.0.0.1:' + p.port + '/:_authToken']: r.token };
  p.setOptions({ rules: (i) => i.isUpload ? 'reset-after' : undefined });
  for (const [label, extra, v] of [['npm default retry (flat: retries 2, min 10ms)', { retry: { retries: 2, factor: 10, minTimeout: 10, maxTimeout: 60000 } }, '1.0.0'], ['fetchRetries undefined, retry undefined', {}, '1.0.1'], ['retry {retries:0}', { retry: { retries: 0 } }, '1.0.2']]) {
    try { await publish({ name: 'tiny', version: v }, tgz, { ...base, ...extra }); console.log(label, 'ok'); } catch (e) { console.log(label, '->', e.code, e.statusCode || '', (e.message || '').slice(0, 80)); }
    console.log('   uploads forwarded:', p.uploadsOf('tiny', v).length, p.uploadsOf('tiny', v).map(u => u.status));
  }
  p.setOptions({ rules: (i) => i.isUpload ? '503' : undefined });
  try { await publish({ name: 'tiny', version: '1.0.3' }, tgz, { ...base, retry: { retries: 2, factor: 1, minTimeout: 10 } }); } catch (e) { console.log('503 with mfh retries ->', e.code); }
  console.log('   503 attempts:', p.uploadsOf('tiny', '1.0.3', { forwardedOnly: false }).length);
  await p.stop(); await r.stop();
})();
