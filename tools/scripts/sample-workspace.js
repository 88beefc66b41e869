'use strict';
/**
 * The sample project the demo and the e2e tests generate into: a generator
 * module emitting self-validating files (fixtures/selfcheck.js), and a checker
 * that lint/typecheck/build targets run over the output.
 */
const fs = require('fs');
const path = require('path');

const FIXTURES = path.join(__dirname, 'fixtures');
/** Where the fixtures land inside a sample workspace. */
const TOOLS_DIR = 'tools/lockstep-sample';

/** The fixture files to copy into a workspace, keyed by workspace-relative path. */
function fixtureFiles() {
  const files = {};
  for (const name of ['selfcheck.js', 'check-outdir.js']) files[`${TOOLS_DIR}/${name}`] = fs.readFileSync(path.join(FIXTURES, name), 'utf8');
  return files;
}

/**
 * Source of a generator module (CommonJS) at `modulePath` (workspace-relative)
 * emitting `count` files. Every file carries a generation stamp: $GEN_STAMP if
 * set, else a random one per run, so a run rewrites every file like a
 * generator that embeds a timestamp. `failWith` makes a module that throws.
 */
function generatorModule(modulePath, { count, failWith } = {}) {
  const selfcheck = path.posix.relative(path.posix.dirname(modulePath), `${TOOLS_DIR}/selfcheck.js`);
  if (failWith) {
    return `'use strict';\nexports.generate = async () => {\n  throw new Error(${JSON.stringify(failWith)});\n};\n`;
  }
  return `'use strict';
const { randomBytes } = require('crypto');
const { fileNames, render } = require(${JSON.stringify(selfcheck.startsWith('.') ? selfcheck : `./${selfcheck}`)});

exports.generate = async (ctx) => {
  const stamp = process.env.GEN_STAMP || randomBytes(6).toString('hex');
  for (const rel of fileNames(${count})) ctx.emit(rel, render(rel, stamp));
};
`;
}

/** The command of a run-commands target that checks the whole output. */
function checkCommand(outDir, count, label) {
  return `node ${TOOLS_DIR}/check-outdir.js ${outDir} ${count} ${label}`;
}

module.exports = { FIXTURES, TOOLS_DIR, fixtureFiles, generatorModule, checkCommand, READER: path.join(FIXTURES, 'reader.js') };
