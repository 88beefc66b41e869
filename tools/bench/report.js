'use strict';
/** The generate and lock budgets (the README's Benchmarks table) and the markdown table of run.js. */

const BUDGETS = {
  changedOverPlain: 1.25,
  unchangedOverPlain: 0.5,
  handoffMedianMs: 50,
};

const ms = (v) => (Number.isFinite(v) ? (v >= 100 ? `${v.toFixed(0)} ms` : v >= 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`) : '—');
const x = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '—');

/** Rows of { metric, median, p95, ratio, budget, pass (true/false/undefined) }. */
function buildRows(results) {
  const rows = [];
  const g = results.generate;
  if (g) {
    const c = g.config;
    rows.push({
      metric: `generate: plain fs.promises.writeFile, ${c.files} files, ${c.concurrency} in flight (baseline)`,
      median: ms(g.summary.plain.median),
      p95: ms(g.summary.plain.p95),
      ratio: '1.00x',
      budget: '—',
    });
    const changedPass = g.ratios.changedOverPlain <= BUDGETS.changedOverPlain;
    rows.push({
      metric: 'generate: commitTree, changed content',
      median: ms(g.summary.changed.median),
      p95: ms(g.summary.changed.p95),
      ratio: x(g.ratios.changedOverPlain),
      budget: `≤ ${BUDGETS.changedOverPlain.toFixed(2)}x plain`,
      pass: changedPass,
    });
    const unchangedPass = g.ratios.unchangedOverPlain <= BUDGETS.unchangedOverPlain;
    rows.push({
      metric: 'generate: commitTree, unchanged content',
      median: ms(g.summary.unchanged.median),
      p95: ms(g.summary.unchanged.p95),
      ratio: x(g.ratios.unchangedOverPlain),
      budget: `≤ ${BUDGETS.unchangedOverPlain.toFixed(2)}x plain`,
      pass: unchangedPass,
    });
    if (g.diagnostic) {
      const d = g.diagnostic;
      rows.push({
        metric: `diagnostic: atomic-replace floor (temp + rename, no compare; ${d.samplesMs.floor.length} more rounds with plain and changed)`,
        median: ms(d.summary.floor.median),
        p95: ms(d.summary.floor.p95),
        ratio: `${x(d.floorOverPlain)} plain; changed = ${x(d.changedOverFloor)} floor`,
        budget: '—',
      });
    }
  }
  const l = results.lock;
  if (l) {
    rows.push({
      metric: `lock: acquire + release, uncontended (${l.uncontended.iterations} iterations)`,
      median: ms(l.uncontended.summary.median),
      p95: ms(l.uncontended.summary.p95),
      ratio: '—',
      budget: '—',
    });
    rows.push({
      metric: `lock: handoff to a queued waiter process (${l.handoff.handoffs} handoffs)`,
      median: ms(l.handoff.summary.median),
      p95: ms(l.handoff.summary.p95),
      ratio: '—',
      budget: `median < ${BUDGETS.handoffMedianMs} ms`,
      pass: l.handoff.summary.median < BUDGETS.handoffMedianMs,
    });
    if (l.handoff.idleWait) {
      rows.push({
        metric: `lock: CPU of one queued waiter (pollMs ${l.handoff.pollMs}), per second of waiting`,
        median: `${l.handoff.idleWait.cpuMsPerSecond.toFixed(0)} ms/s (${(l.handoff.idleWait.cpuMsPerSecond / 10).toFixed(0)} % of a core)`,
        p95: '—',
        ratio: '—',
        budget: '—',
      });
    }
  }
  return rows;
}

function notes(results) {
  const out = [];
  const g = results.generate;
  if (g) {
    out.push(
      `- generate: ${g.config.files} files of ${g.config.minBytes / 1024}–${g.config.maxBytes / 1024} KiB ` +
        `(${(g.config.totalBytes / 1048576).toFixed(1)} MiB) in ${g.config.dirs} dirs under ${g.config.dir}; ` +
        `${g.config.reps} alternating rounds after ${g.config.warmupRounds} warm-up, all variants on one tree; warm page cache; ` +
        `${g.config.syncBeforeEachOp ? '`sync` before every timed operation' : 'no sync between operations'}.`,
    );
    out.push(
      `- generate: the plain baseline writes with ${g.config.concurrency} writeFile calls in flight (core's mapLimit), ` +
        `the same parallelism as commitTree's default concurrency (${g.config.concurrency}); commitTree runs with prune and sweep on, as runGenerate does.`,
    );
    out.push(
      `- generate: per-round paired ratios (median): changed/plain ${x(g.ratios.pairedMedian.changedOverPlain)}, ` +
        `unchanged/plain ${x(g.ratios.pairedMedian.unchangedOverPlain)}.`,
    );
  }
  const l = results.lock;
  if (l) {
    const u = l.uncontended;
    out.push(`- lock uncontended: acquire median ${ms(u.acquire.median)} (p95 ${ms(u.acquire.p95)}), release median ${ms(u.release.median)} (p95 ${ms(u.release.p95)}).`);
    const h = l.handoff;
    out.push(
      `- lock handoff: min ${ms(h.summary.min)}, max ${ms(h.summary.max)}; the holder's release() call itself takes median ${ms(h.releaseCallMs.median)}; ` +
        `clock skew between the two processes ${(h.clocks.skewMs * 1000).toFixed(0)} µs (±${(h.clocks.uncertaintyMs * 1000).toFixed(0)} µs); acquireLock defaults (pollMs 5).`,
    );
  }
  return out.join('\n');
}

function missed(rows) {
  return rows.filter((r) => r.pass === false).map((r) => r.metric);
}

module.exports = { BUDGETS, buildRows, notes, missed };
