// Runs lockstep's runGenerate in a real process. Two modes:
//   IPC worker: replies to { op: 'generate', generation, outDir, lockDir } messages;
//   one-shot:   node generate-worker.js <outDir> <lockDir> <generation> [scale]
//               prints "locked" once it holds the lock and "done <json>" at the end.
const { runGenerate } = require('../../../dist');
const { generationFiles } = require('./content');

async function generate({ outDir, lockDir, generation, scale, workspaceRoot }) {
  return runGenerate({
    outDir,
    lockDir,
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
  generate({ outDir, lockDir, generation, scale: Number(scale || 1) }).then(
    (r) => console.log(`done ${JSON.stringify({ stats: r.stats, waitedMs: r.waitedMs })}`),
    (e) => {
      console.log(`error ${e.code} ${e.message}`);
      process.exit(1);
    },
  );
}
