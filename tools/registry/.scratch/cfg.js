const Config = require('@npmcli/config');
const { definitions, shorthands, flatten, nerfDarts } = require('@npmcli/config/lib/definitions');
const fs = require('fs'), os = require('os'), path = require('path');
(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
  const home = path.join(dir, 'home'); fs.mkdirSync(home);
  const proj = path.join(dir, 'proj'); fs.mkdirSync(path.join(proj, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(proj, 'package.json'), '{}');
  fs.writeFileSync(path.join(proj, '.npmrc'), 'registry=http://127.0.0.1:4873\n@acme:registry=http://127.0.0.1:5000/npm/\n//127.0.0.1:4873/:_authToken=${MY_TOKEN}\n//127.0.0.1:5000/npm/:_authToken=${MISSING}\n');
  fs.writeFileSync(path.join(home, '.npmrc'), '//registry.npmjs.org/:_authToken=npm_abc\nfetch-retries=5\n');
  const env = { HOME: home, MY_TOKEN: 'secret-123', npm_config_fetch_timeout: '1234', 'npm_config_//127.0.0.1:6000/:_authToken': 'envtok' };
  const t = Date.now();
  const conf = new Config({ definitions, shorthands, flatten, nerfDarts, npmPath: '/usr/lib/node_modules/npm', env, argv: ['node', 'x'], cwd: path.join(proj, 'sub'), warn: false });
  await conf.load();
  console.log('load ms', Date.now() - t);
  try { conf.validate(); } catch (e) { console.log('validate', e.code, e.message); }
  const flat = conf.flat;
  const pick = Object.fromEntries(Object.entries(flat).filter(([k]) => /registry|auth|fetch|retry|cache|timeout|^\/\/|otp|access|tag|prefer|offline|provenance|scope/i.test(k)));
  console.log(pick);
  console.log(conf.localPrefix, [...conf.sources.entries()]);
  console.log(Object.keys(env));
})();
