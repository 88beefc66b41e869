'use strict';
/**
 * The publish, journal and scale budgets (the README's Benchmarks table), and the rows of the
 * markdown table publish-run.js prints. Rows have the shape report.js uses
 * ({ metric, median, p95, ratio, budget, pass }), so run.js can merge them.
 */

const PUBLISH_BUDGETS = {
  wallOverBound: 1.15,
  faultsOverFaultFree: 1.5,
  /** "flat from 100 to 2,000 packages": read as at most 25 % dearer per transition. */
  journalFlatRatio: 1.25,
  planningMs: 10_000,
  peakRssMiB: 300,
};

const ms = (v) => (Number.isFinite(v) ? (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`) : '—');
const x = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '—');
/** "1.39x bound (paired 1.32x)": ratio of medians, and the median of each run over the bound of its neighbouring units. */
const both = (ofMedians, paired) => `${x(ofMedians)} bound (paired ${x(paired)})`;
/** A budget is met only if both readings meet it; missed if both miss; 'mixed' otherwise (noise decides). */
function verdictOf(ofMedians, paired, budget = PUBLISH_BUDGETS.wallOverBound) {
  const a = ofMedians <= budget;
  const b = Number.isFinite(paired) ? paired <= budget : a;
  return a === b ? a : 'mixed';
}
const mib = (v) => (Number.isFinite(v) ? `${v.toFixed(0)} MiB` : '—');

function buildPublishRows(results) {
  const rows = [];
  const p = results.publish && results.publish.analysis;
  if (p) {
    const w = p.walls;
    const n = (s) => (s && s.n ? ` (n=${s.n})` : '');
    rows.push({
      metric: `publish unit: 1-package publishPackages via the core API (pack + pre-check + upload + verify)${n(p.unit)}`,
      median: ms(p.unit.median),
      p95: ms(p.unit.p95),
      ratio: '—',
      budget: '—',
    });
    rows.push({
      metric: `publish bound: max(${p.criticalPath} × unit, ${p.packages} × unit ÷ ${results.publish.config.concurrency})`,
      median: ms(p.bound),
      p95: '—',
      ratio: '1.00x',
      budget: '—',
    });
    rows.push({
      metric: `publish batch: nx run-many -t publish --batch${n(w.batch)}`,
      median: ms(w.batch.median),
      p95: ms(w.batch.p95),
      ratio: both(p.ratios.batchOverBound, p.paired.batchOverBound),
      budget: `≤ ${PUBLISH_BUDGETS.wallOverBound.toFixed(2)}x bound`,
      pass: verdictOf(p.ratios.batchOverBound, p.paired.batchOverBound),
    });
    rows.push({
      metric: `publish default: nx run-many -t publish, no flag (preferBatch)${n(w.default)}`,
      median: ms(w.default.median),
      p95: ms(w.default.p95),
      ratio: `${both(w.default.median / p.bound, p.paired.defaultOverBound)}; ${p.ratios.defaultOverBatch.toFixed(2)}x batch`,
      budget: '≤ 1.10x --batch',
      pass: p.ratios.defaultOverBatch <= 1.1,
    });
    rows.push({
      metric: '  of which publishPackages inside the batch executor (summary.durationMs)',
      median: ms(p.batchProfile.runPublishMs),
      p95: '—',
      ratio: both(p.ratios.batchRunPublishOverBound, p.paired.batchRunPublishOverBound),
      budget: '—',
    });
    rows.push({
      metric: `publish without Nx: publishPackages via the core API on the same 60 packages (journal open + publish)${n(w.core)}`,
      median: ms(w.core.median),
      p95: ms(w.core.p95),
      ratio: both(p.ratios.coreOverBound, p.paired.coreOverBound),
      budget: '—',
    });
    rows.push({
      metric: `publish per-task: nx run-many -t publish --batch=false --parallel=${results.publish.config.concurrency}${n(w['per-task'])}`,
      median: ms(w['per-task'].median),
      p95: ms(w['per-task'].p95),
      ratio: both(p.ratios.perTaskOverBound, p.paired.perTaskOverBound),
      budget: `≤ ${PUBLISH_BUDGETS.wallOverBound.toFixed(2)}x bound`,
      pass: verdictOf(p.ratios.perTaskOverBound, p.paired.perTaskOverBound),
    });
    rows.push({
      metric: `publish baseline: npm publish, one package after the other, dependency order${n(w.npm)}`,
      median: ms(w.npm.median),
      p95: ms(w.npm.p95),
      ratio: `${both(p.ratios.npmOverBound, p.paired.npmOverBound)}; ${ms(p.npmPerPublish.median)} per publish`,
      budget: '—',
    });
    rows.push({
      metric: `Nx alone: nx run-many -t noop (nx:noop), 60 projects${n(w['nx-noop'])}`,
      median: ms(w['nx-noop'].median),
      p95: ms(w['nx-noop'].p95),
      ratio: both(w['nx-noop'].median / p.bound, p.paired.nxNoopOverBound),
      budget: '—',
    });
    rows.push({
      metric: `Nx alone: do-nothing executor, --batch${n(w['noop-batch'])}`,
      median: ms(w['noop-batch'].median),
      p95: ms(w['noop-batch'].p95),
      ratio: both(w['noop-batch'].median / p.bound, p.paired.noopBatchOverBound),
      budget: '—',
    });
    rows.push({
      metric: `Nx alone: do-nothing executor, per task, --parallel=${results.publish.config.concurrency}${n(w['noop-per-task'])}`,
      median: ms(w['noop-per-task'].median),
      p95: ms(w['noop-per-task'].p95),
      ratio: both(w['noop-per-task'].median / p.bound, p.paired.noopPerTaskOverBound),
      budget: '—',
    });
    const faultsPass = verdictOf(p.ratios.faultsOverBatch, p.paired.faultsOverBatch, PUBLISH_BUDGETS.faultsOverFaultFree);
    const injected = p.faults.injected.length ? `${Math.min(...p.faults.injected)}–${Math.max(...p.faults.injected)} faults/run` : '';
    rows.push({
      metric: `publish batch, ${Math.round(results.publish.config.faultRate * 100)} % injected ${results.publish.config.faults.join('/')} (Retry-After ${results.publish.config.retryAfterSeconds}), ${injected}${n(w['batch-faults'])}`,
      median: ms(w['batch-faults'].median),
      p95: ms(w['batch-faults'].p95),
      ratio: `${x(p.ratios.faultsOverBatch)} fault-free batch (same-round pairs ${x(p.paired.faultsOverBatch)})`,
      budget: `≤ ${PUBLISH_BUDGETS.faultsOverFaultFree.toFixed(2)}x`,
      pass: faultsPass,
    });
  }
  const j = results.journal;
  if (j) {
    const [small, large] = Object.keys(j.summary).map(Number).sort((a, b) => a - b);
    const s = j.summary;
    rows.push({
      metric: `journal: transition at ${small} packages (n=${s[small].transition.n})`,
      median: ms(s[small].transition.median),
      p95: ms(s[small].transition.p95),
      ratio: '1.00x',
      budget: '—',
    });
    rows.push({
      metric: `journal: transition at ${large} packages (n=${s[large].transition.n})`,
      median: ms(s[large].transition.median),
      p95: ms(s[large].transition.p95),
      ratio: `${x(j.ratio)} (fs floor ${x(j.floorRatio)})`,
      budget: `≤ ${PUBLISH_BUDGETS.journalFlatRatio.toFixed(2)}x (flat)`,
      pass: j.ratio <= PUBLISH_BUDGETS.journalFlatRatio,
    });
  }
  const sc = results.scale && results.scale.summary;
  if (sc) {
    const c = results.scale.config;
    rows.push({
      metric: `scale: ${c.packages} packages planned: input + levels + pre-check (${c.precheckParallel} reads in flight, local Verdaccio)`,
      median: ms(sc.planningMs.median),
      p95: '—',
      ratio: `pre-check ${ms(sc.precheckMs.median)}`,
      budget: `< ${PUBLISH_BUDGETS.planningMs / 1000} s`,
      pass: sc.planningMs.median < PUBLISH_BUDGETS.planningMs && sc.ok,
    });
    rows.push({
      metric: `scale: ${c.packages} packages dry run (publishPackages, no registry: packs each, ${c.concurrency} at once)`,
      median: ms(sc.dryRunMs.median),
      p95: '—',
      ratio: '—',
      budget: '—',
    });
    rows.push({
      metric: 'scale: peak RSS of that process (maxRSS: load, planning, pre-check, dry run)',
      median: mib(sc.peakRssMiB.median),
      p95: '—',
      ratio: `after planning ${mib(sc.rssAfterPlanningMiB.median)}`,
      budget: `< ${PUBLISH_BUDGETS.peakRssMiB} MiB`,
      pass: sc.peakRssMiB.median < PUBLISH_BUDGETS.peakRssMiB,
    });
  }
  return rows;
}

/** The "where the time goes" lines under the table. */
function publishNotes(results) {
  const out = [];
  const pub = results.publish;
  const p = pub && pub.analysis;
  if (p) {
    const c = pub.config;
    const u = p.unitPhases;
    out.push(
      `- setup: ${c.packages} packages in ${c.levels} levels (${c.edges} internal dependencies), proxy +${c.latencyMs} ms per request, concurrency ${c.concurrency}; ` +
        `${c.reps} alternating rounds (npm and the per-task no-op in ${c.baselineReps}); every run publishes fresh versions (invalid runs: ${p.invalidRuns.length ? p.invalidRuns.join(', ') : 'none'}). ` +
        `Ratios: of medians (wall median ÷ bound from the unit median), and paired (each run ÷ the bound from the unit samples taken right before and after it, median over runs: robust to the load drifting during the bench); a budget passes when both readings pass, 'borderline' when they disagree.`,
    );
    out.push(
      `- unit phases (median ms): pack ${u.pack}, pre-check ${u.precheck}, upload ${u.upload}, verify ${u.verify}, journal (4 transitions) ${u.journal}, rest ${u.other}.`,
    );
    const b = p.batchProfile;
    out.push(
      `- batch, median ms from spawn: Nx forks the batch worker at ${b.nxUntilWorker}, the executor starts at ${b.execStartMs} ` +
        `(worker boot ${b.workerBoot}, Nx batch init ${b.nxBatchInit}, executor load ${b.executorLoad}); inside it: set-up before the first request ${b.execSetup}, ` +
        `registry traffic ${b.registryWindow}, after the last response ${b.execTail}; Nx after the executor ${b.nxTail}. ` +
        `publishPackages ${b.runPublishMs}; per package under load ${b.perPackageMedianMs} (unit ${Math.round(p.unit.median)}); ${b.requests} requests, ${b.extraVerifyPolls} verify polls beyond the first.`,
    );
    out.push(
      `- batch minus the do-nothing batch: ${x(p.ratios.batchMinusNxNoopOverBound)} bound (what lockstep adds over Nx's own batch cost); batch ÷ core API run ${x(p.ratios.batchOverCore)}.`,
    );
    const ip = p.inProcess;
    out.push(
      `- core API run (no Nx): journal open ${ip.coreJournalOpenMs}, publishPackages ${ip.corePublishMs} (${x(p.ratios.corePublishOverBound)} bound), per package ${ip.corePerPackageMs}.`,
    );
    const tr = p.perPackageTraffic;
    const line = (k) => {
      const t = tr[k];
      return `${k}: pre-check ${t.precheck}, [gap ${t.gapPrecheckToUpload}], upload ${t.upload}, [gap ${t.gapUploadToVerify}], verify ${t.verify} (${t.verifyReads} read)`;
    };
    out.push(`- per package as the proxy saw it (median ms, ${c.latencyMs} ms proxy latency inside each request; [gap] = client time between requests): ${['unit', 'core', 'batch', 'per-task'].map(line).join('; ')}.`);
    const t = p.perTaskProfile;
    const nt = p.noopPerTaskProfile;
    out.push(
      `- per-task, median ms per task process: node boot ${t.boot}, Nx task init ${t.nxTaskInit}, executor load ${t.executorLoad}, executor ${t.exec} ` +
        `(set-up before its first request ${t.execSetup}, confirming dependencies + packing ${t.confirmAndPack} of which confirming ${t.confirmSpan}, own pre-check/upload/verify ${t.ownRegistry}, after ${t.execTail}); ` +
        `whole process ${t.process} vs ${nt.process} for the do-nothing executor (boot ${nt.boot}, Nx task init ${nt.nxTaskInit}); ` +
        `${t.requests} requests (${t.confirmReads} dependency confirmations per task), ${t.extraVerifyPolls} verify polls beyond the first.`,
    );
    out.push(`- per-task minus the do-nothing per-task run: ${x(p.ratios.perTaskMinusNoopPerTaskOverBound)} bound.`);
  }
  const j = results.journal;
  if (j) {
    const sizes = Object.keys(j.summary).sort((a, b) => a - b);
    out.push(
      `- journal: ${sizes.map((s) => `${s} pkgs: open ${ms(j.summary[s].openMs)}, durable-write floor ${ms(j.summary[s].floor.median)}, join ${ms(j.summary[s].join.median)}, get ${ms(j.summary[s].get.median)}, isComplete ${ms(j.summary[s].isComplete.median)}`).join('; ')}.`,
    );
  }
  const sc = results.scale && results.scale.summary;
  if (sc) {
    out.push(
      `- scale: planLevels ${ms(sc.planLevelsMs.median)}, registry client ${ms(sc.registryClientMs.median)}, pre-check ${ms(sc.precheckMs.median)}, ` +
        `readWorkspacePackages over the same folders ${ms(sc.readWorkspacePackagesMs.median)}; RSS after loading core ${mib(sc.rssAfterLoadMiB.median)}.`,
    );
    out.push(
      `- scale pre-check: ${sc.precheckCpuPerRequestMs.median.toFixed(2)} ms of CPU per read in the client; live heap after planning (after a full GC) ${mib(sc.heapAfterPlanningMiB.median)} while RSS peaked at ${mib(sc.rssAfterPlanningMiB.median)}.`,
    );
  }
  return out.join('\n');
}

function missedPublish(rows) {
  return rows.filter((r) => r.pass === false).map((r) => r.metric.trim());
}

function borderlinePublish(rows) {
  return rows.filter((r) => r.pass === 'mixed').map((r) => r.metric.trim());
}

module.exports = { PUBLISH_BUDGETS, buildPublishRows, publishNotes, missedPublish, borderlinePublish };
