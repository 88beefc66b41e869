// The attacker of lock-dir race tests, another process working on the same
// path the victim uses as LOCKSTEP_LOCK_DIR.
//   { op: 'repoint', link, targets: [a, b] }: keeps re-pointing `link`,
//     alternating between the targets, each time by renaming a fresh symlink
//     over it (so `link` is always a symlink), until { op: 'stop' }; replies
//     { started: true } at once and, on stop, { swaps }.
//   { op: 'swap', dir, movedTo, replacement: 'symlink' | 'dir', target? }:
//     renames the real directory `dir` away to `movedTo` and puts a symlink to
//     `target` (or a fresh private directory) in its place; replies { done: true }.
/** @typedef {import('../../test-utils/worker-protocol').LockDirAttacker} Protocol its messages, typed for the spec */
const fs = require('fs');

let running = false;
let swaps = 0;

function repointForever(link, targets) {
  let n = 0;
  const batch = () => {
    if (!running) return;
    for (let i = 0; i < 20; i++) {
      const fresh = `${link}.new-${process.pid}-${n}`;
      fs.symlinkSync(targets[n % targets.length], fresh);
      fs.renameSync(fresh, link);
      n++;
      swaps++;
    }
    setImmediate(batch); // let IPC in
  };
  batch();
}

process.on('message', (msg) => {
  if (msg.op === 'exit') process.exit(0);
  if (msg.op === 'repoint') {
    running = true;
    swaps = 0;
    repointForever(msg.link, msg.targets);
    process.send({ started: true });
  } else if (msg.op === 'stop') {
    running = false;
    process.send({ swaps });
  } else if (msg.op === 'count') {
    process.send({ swaps });
  } else if (msg.op === 'swap') {
    fs.renameSync(msg.dir, msg.movedTo);
    if (msg.replacement === 'symlink') fs.symlinkSync(msg.target, msg.dir);
    else fs.mkdirSync(msg.dir, { mode: 0o700 });
    process.send({ done: true });
  }
});
process.send({ ready: true });
