'use strict';
/** Temp dirs the bench made, removed on exit and on SIGINT/SIGTERM so an interrupted run leaves nothing behind. */
const fs = require('fs');

const dirs = new Set();
let installed = false;

function removeAll() {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function track(dir) {
  if (!installed) {
    installed = true;
    process.on('exit', removeAll);
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.once(sig, () => {
        removeAll();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
    }
  }
  dirs.add(dir);
  return dir;
}

function untrack(dir) {
  dirs.delete(dir);
}

module.exports = { track, untrack };
