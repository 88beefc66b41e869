// A worker for journal race and crash tests, on the built journal
// (packages/core/dist, made by `npx tsc -b packages/core` before jest runs).
//   { op: 'publish', dir, runId, sha, packages, own, resume?, steps? }
//       opens the journal and moves its own package pending → packing →
//       publishing → verifying → published (the first `steps` of those),
//       unless it is already published; replies with the open's mode and the record.
//   { op: 'finish', dir, runId, sha, packages, status }  joins the run and finishes it.
//   { op: 'churn', dir, sha, packages }  never replies: opens (resuming), moves random
//       packages forward (some fail, some are blocked) until the run is complete,
//       finishes it, opens a new run, and so on, until it is SIGKILLed.
/** @typedef {import('../../test-utils/worker-protocol').JournalWorker} Protocol its messages, typed for the spec */
const { openJournal } = require('../../../dist/journal');

const FLOW = ['packing', 'publishing', 'verifying', 'published'];
const NEXT = { pending: 'packing', packing: 'publishing', publishing: 'verifying', verifying: 'published' };

const open = (msg, runId, resume = 'auto') =>
  openJournal(msg.dir, { runId, sha: msg.sha, target: 'publish', registry: 'http://127.0.0.1:4873/', packages: msg.packages, resume, lockTimeoutMs: 30_000 });

async function publish(msg) {
  const opened = await open(msg, msg.runId, msg.resume);
  let record = opened.journal.get(msg.own);
  if (record.status !== 'published') {
    for (const status of FLOW.slice(0, msg.steps ?? FLOW.length)) {
      record = await opened.journal.transition(msg.own, status, { level: 0, integrity: `sha512-${msg.own}` });
    }
  }
  return { mode: opened.mode, resumed: opened.resumed, previous: opened.previous, record };
}

async function churn(msg) {
  for (let generation = 0; ; generation++) {
    const { journal } = await open(msg, `churn-${process.pid}-${generation}`);
    for (;;) {
      const todo = journal.all().filter((r) => NEXT[r.status]);
      if (todo.length === 0) break;
      const record = todo[Math.floor(Math.random() * todo.length)];
      const roll = Math.random();
      const status = roll < 0.04 ? 'failed' : roll < 0.06 ? 'blocked' : NEXT[record.status];
      await journal.transition(record.name, status, { level: 1, integrity: `sha512-${record.name}`, error: status === 'failed' ? { code: 'EREGISTRY', message: '503 from the registry' } : undefined });
    }
    await journal.finish('done');
  }
}

process.on('message', async (msg) => {
  try {
    if (msg.op === 'publish') process.send({ ok: true, ...(await publish(msg)) });
    else if (msg.op === 'finish') {
      const { journal } = await open(msg, msg.runId);
      process.send({ ok: true, run: await journal.finish(msg.status) });
    } else if (msg.op === 'churn') await churn(msg);
  } catch (error) {
    process.send({ ok: false, code: error.code, message: error.message });
  }
});
process.send({ ready: true });
