// Reads every stable file of outDir in a loop and counts whole, torn, empty
// and missing reads. Replies to { op: 'report' } with its counts so far.
/** @typedef {import('../../test-utils/worker-protocol').ReaderWorker} Protocol its messages, typed for the spec */
const fs = require('fs');
const path = require('path');
const { STABLE, check } = require('./content');

const outDir = process.argv[2];
const counts = { reads: 0, torn: 0, empty: 0, missing: 0, samples: [] };
let stop = false;

function loop() {
  for (let i = 0; i < 5 && !stop; i++) {
    for (const file of STABLE) {
      counts.reads++;
      let text;
      try {
        text = fs.readFileSync(path.join(outDir, file), 'utf8');
      } catch (e) {
        counts.missing++;
        if (counts.samples.length < 5) counts.samples.push(`${file}: ${e.code}`);
        continue;
      }
      const verdict = check(text, file);
      if (!verdict.ok) {
        if (verdict.why === 'empty') counts.empty++;
        else counts.torn++;
        if (counts.samples.length < 5) counts.samples.push(`${file}: ${verdict.why}`);
      }
    }
  }
  if (!stop) setImmediate(loop);
}

process.on('message', (msg) => {
  if (msg.op === 'report') process.send({ ...counts });
  if (msg.op === 'stop') {
    stop = true;
    process.send({ ...counts });
  }
});
process.send({ ready: true });
loop();
