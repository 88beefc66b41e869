// Runs lockstep's runGenerate in a real process. Two modes:
//   IPC worker: replies to { op: 'generate', generation, outDir, lockDir } messages;
//   one-shot:   node generate-worker.js <outDir> <lockDir> <generation> [scale] [--announce] [--root <workspaceRoot>]
//               prints "locked" once it holds the lock and "done <json>" at the end.
// The workspace root must contain outDir (runGenerate refuses an outDir that is the root).
/** @typedef {import('../../test-utils/worker-protocol').GenerateWorker} Protocol its messages, typed for the spec */
const { runGenerate } = require('../../../dist');
const { generationFiles } = require('./content');

async function generate({ outDir, lockDir, generation, scale, workspaceRoot, lockTimeoutMs }) {
  return runGenerate({
    outDir,
    lockDir,
    lockTimeoutMs,
    workspaceRoot: workspaceRoot || outDir,
    producer: {
      kind: 'function',
      name: 'race-fixture',
      generate: () => {
        if (process.argv.includes('--announce')) console.log('locked');
        return generationFiles(generation, scale || 1);
      },
    },
  });
}

if (process.send && process.argv.length <= 2) {
  process.on('message', async (msg) => {
    if (msg.op !== 'generate') return;
    try {
      const result = await generate(msg);
      process.send({ ok: true, stats: result.stats, waitedMs: result.waitedMs });
    } catch (e) {
      process.send({ ok: false, code: e.code, message: e.message });
    }
  });
  process.send({ ready: true });
} else {
  const [outDir, lockDir, generation, scale] = process.argv.slice(2);
  const root = process.argv.indexOf('--root');
  const workspaceRoot = root > 0 ? process.argv[root + 1] : undefined;
  generate({ outDir, lockDir, generation, scale: Number(scale || 1), workspaceRoot }).then(
    (r) => console.log(`done ${JSON.stringify({ stats: r.stats, waitedMs: r.waitedMs })}`),
    (e) => {
      console.log(`error ${e.code} ${e.message}`);
      process.exit(1);
    },
  );
}
