'use strict';
/**
 * The sample project the demo and the e2e tests generate into: a generator
 * module emitting self-validating files (fixtures/selfcheck.js), a checker
 * that lint/typecheck/build targets run over the output, and a reader process
 * that reads the output in a loop while generations land.
 */
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { track } = require('./workspace');

const FIXTURES = path.join(__dirname, 'fixtures');
const READER = path.join(FIXTURES, 'reader.js');
/** Where the fixtures land inside a sample workspace. */
const TOOLS_DIR = 'tools/lockstep-sample';

/** The fixture files to copy into a workspace, keyed by workspace-relative path. */
function fixtureFiles() {
  const files = {};
  for (const name of ['selfcheck.js', 'check-outdir.js']) files[`${TOOLS_DIR}/${name}`] = fs.readFileSync(path.join(FIXTURES, name), 'utf8');
  return files;
}

function requirePath(fromModule, target) {
  const rel = path.posix.relative(path.posix.dirname(fromModule), target);
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/**
 * Source of a generator module (CommonJS) for `modulePath` (workspace-relative)
 * that emits `count` self-validating files.
 *
 * Every file carries a generation stamp: $GEN_STAMP if set, else a random one
 * per run, so that every run rewrites every file, like a generator that embeds
 * a timestamp. If $GEN_BARRIER_FILE is set, the generator does not emit until
 * that file exists (tests use it to hold the first run inside the lock until a
 * second run is queued behind it). `delayMs` makes every run take that much
 * longer before it emits (simulated work). `failWith` makes a module that
 * throws.
 */
function generatorModule(modulePath, { count, delayMs = 0, failWith } = {}) {
  if (failWith) {
    return `'use strict';\nexports.generate = async () => {\n  throw new Error(${JSON.stringify(failWith)});\n};\n`;
  }
  return `'use strict';
const { existsSync } = require('fs');
const { randomBytes } = require('crypto');
const { fileNames, render } = require(${JSON.stringify(requirePath(modulePath, `${TOOLS_DIR}/selfcheck.js`))});

async function barrier(file) {
  const deadline = Date.now() + 60000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error('GEN_BARRIER_FILE ' + file + ' did not appear within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

exports.generate = async (ctx) => {
  if (process.env.GEN_BARRIER_FILE) await barrier(process.env.GEN_BARRIER_FILE);
${delayMs > 0 ? `  await new Promise((resolve) => setTimeout(resolve, ${Number(delayMs)})); // simulated work\n` : ''}  const stamp = process.env.GEN_STAMP || randomBytes(6).toString('hex');
  for (const rel of fileNames(${Number(count)})) ctx.emit(rel, render(rel, stamp));
};
`;
}

/**
 * Source of a script for a `command` target: writes `count` self-validating
 * files with the stamp `stamp` into $LOCKSTEP_OUT_DIR (or argv[2]). With
 * `failAfterPartialWrite`, it writes a cut-short file and a stray one first,
 * then exits 1.
 */
function commandScript(scriptPath, { count, stamp, failAfterPartialWrite = false }) {
  return `'use strict';
const fs = require('fs');
const path = require('path');
const { generation } = require(${JSON.stringify(requirePath(scriptPath, `${TOOLS_DIR}/selfcheck.js`))});

const out = process.argv[2] || process.env.LOCKSTEP_OUT_DIR;
if (!out) {
  console.error('no output directory: set LOCKSTEP_OUT_DIR');
  process.exit(2);
}
const files = Object.entries(generation(${Number(count)}, ${JSON.stringify(stamp)}));
const write = (rel, data) => {
  fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
  fs.writeFileSync(path.join(out, rel), data);
};
${
  failAfterPartialWrite
    ? `write(files[0][0], files[0][1].slice(0, 100));
write('stray.txt', 'should never reach outDir');
console.error('command: giving up half way');
process.exit(1);`
    : `for (const [rel, data] of files) write(rel, data);
console.log('command: wrote ' + files.length + ' files');`
}
`;
}

/** The command of a run-commands target that checks the whole output. */
function checkCommand(outDir, count, label) {
  return `node ${TOOLS_DIR}/check-outdir.js ${outDir} ${count} ${label}`;
}

/**
 * Starts fixtures/reader.js on `outDirAbs` and resolves once it is reading.
 * `stop()` ends it and resolves with its tallies (see reader.js).
 */
async function startReader(outDirAbs, count, resultFile) {
  fs.rmSync(resultFile, { force: true });
  const child = track(spawn(process.execPath, [READER, outDirAbs, String(count), resultFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    closed.then(({ code, signal }) => reject(new Error(`reader exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
  return {
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      const { code, signal } = await closed;
      if (code !== 0) throw new Error(`reader exited with ${code ?? signal}: ${stderr}`);
      return JSON.parse(fs.readFileSync(resultFile, 'utf8'));
    },
  };
}

/**
 * Lists what a generation may leave behind by mistake under `dir` (recursively):
 * lockstep temp siblings (`.<name>.lstmp-<pid>-<hex>`) and staging dirs
 * (`.<outDir>.lockstep-stage-<pid>-<hex>`).
 */
function findLeftovers(dir) {
  const found = [];
  const walk = (abs) => {
    let entries;
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (error) {
      if (error.code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(abs, entry.name);
      if (entry.name.includes('.lstmp-') || entry.name.includes('.lockstep-stage-')) found.push(full);
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return found;
}

module.exports = { FIXTURES, READER, TOOLS_DIR, fixtureFiles, generatorModule, commandScript, checkCommand, startReader, findLeftovers };
