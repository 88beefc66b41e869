const { startRegistry } = require('/work/main/tools/registry/verdaccio');
const { publish } = require('libnpmpublish');
const pack = require('libnpmpack');
const fs = require('fs'), os = require('os'), path = require('path');
const ssri = require('ssri');
const fetch2 = require('npm-registry-fetch');
(async () => {
  const r = await startRegistry();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pk-'));
  const manifest = { name: '@demo/tiny', version: '1.0.0', main: 'index.js' };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(dir, 'index.js'), 'module.exports = 1\n');
  let t = Date.now();
  const tgz = await pack(dir, { ignoreScripts: true });
  console.log('pack', Date.now() - t, 'ms', tgz.length, ssri.fromData(tgz, { algorithms: ['sha512'] }).toString().slice(0, 30));
  const nerf = '//127.0.0.1:' + r.port + '/:_authToken';
  const opts = { registry: r.url, [nerf]: r.token, retry: { retries: 0 } };
  t = Date.now();
  const res = await publish(manifest, tgz, opts);
  console.log('publish', res.status, Date.now() - t, 'ms');
  const doc = await fetch2.json('/@demo%2ftiny', { ...opts, preferOnline: true });
  console.log(JSON.stringify(doc['dist-tags']), doc.versions['1.0.0'].dist);
  for (const [label, o, buf] of [['dup same', opts, tgz], ['dup other', opts, Buffer.concat([tgz, Buffer.from('x')])], ['bad token', { ...opts, [nerf]: 'bad-token-123' }, tgz], ['no token', { registry: r.url, retry: { retries: 0 } }, tgz]]) {
    try { await publish(manifest, buf, o); console.log(label, 'OK?!'); }
    catch (e) { console.log(label, '=>', e.code, e.statusCode, JSON.stringify(e.message), JSON.stringify(e.body), e.headers && e.headers['www-authenticate']); }
  }
  // new version with bad token
  try { await publish({ ...manifest, version: '1.0.1' }, tgz, { ...opts, [nerf]: 'bad' }); } catch (e) { console.log('bad token new version =>', e.code, e.message, JSON.stringify(e.body)); }
  // dist-tag
  const dt = await fetch2('/-/package/@demo%2ftiny/dist-tags/next', { ...opts, method: 'PUT', body: JSON.stringify('1.0.0'), headers: { 'content-type': 'application/json' } });
  console.log('dist-tag', dt.status, await dt.text());
  const d2 = await fetch2.json('/@demo%2ftiny', { ...opts, preferOnline: true }); console.log(d2['dist-tags']);
  const nf = await fetch2.json('/@demo%2fnope', { ...opts }).catch(e => e); console.log('404', nf.code, nf.message);
  const bt = await fetch2.json('/@demo%2ftiny', { ...opts, [nerf]: 'bad' }).catch(e => e); console.log('GET with bad token', bt.code || 'ok', bt.message || '');
  await r.stop();
})().catch((e) => { console.error(e); process.exit(1); });
