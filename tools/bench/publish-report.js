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
  /** side-by-side (issue 13): the default command's wall on 60 packages */
  defaultMs: 4_000,
  /** side-by-side: lockstep's CPU per package over Lerna's, same run */
  cpuOverLerna: 1.0,
  /** side-by-side: per-task wall over Nx's per-task floor (the do-nothing executor) */
  perTaskOverFloor: 1.3,
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

const s1 = (v) => (Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : '—');

/** The side-by-side per-tool table (markdown): wall, CPU, registry CPU, bound from the proxy, verification. */
function sideBySideTable(sbs) {
  const a = sbs.analysis;
  const header = '| tool | wall | CPU of its process tree (per package) | registry CPU | bound from the proxy log (critical path; Σ ÷ 4) | wall ÷ bound (÷ upload-phase bound) | requests per package; peak in flight | largest process | verified |';
  const lines = [header, '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'];
  for (const v of sbs.config.variants) {
    const t = a.tools[v];
    const publishes = Number.isFinite(t.boundMs);
    lines.push(
      `| ${sbs.labels[v]} (n=${t.n}${t.invalid ? `, ${t.invalid} invalid` : ''}) | ${s1(t.wall.median)} | ${s1(t.cpuMs)} (${ms(t.cpuPerPackageMs)}) | ${publishes ? s1(t.registryCpuMs) : '—'} | ` +
        `${publishes ? `${s1(t.boundMs)} (${s1(t.criticalPathMs)}; ${s1(t.sumOverConcurrencyMs)})` : '—'} | ${publishes ? `${x(t.overBound)} (${x(t.overUploadBound)})` : '—'} | ` +
        `${publishes ? `${t.requestsPerPackage.toFixed(2)}; ${t.peakInFlight}` : '—'} | ${mib(t.maxRssMiB)} | ${publishes ? (t.n ? `${t.sameBytes === sbs.config.packages ? 'all byte-identical to a local pack' : 'all: same files as a local pack'}` : '—') : 'n/a'} |`,
    );
  }
  return lines.join('\n');
}

/** Budget rows of the side-by-side run (issue 13). */
function buildSideBySideRows(sbs) {
  const a = sbs.analysis;
  const t = a.tools;
  const p = a.paired;
  const rows = [];
  const B = PUBLISH_BUDGETS;
  const n = (v) => ` (n=${t[v].n})`;
  if (t.batch) {
    rows.push({
      metric: `side-by-side: lockstep --batch over the bound of its own run${n('batch')}`,
      median: ms(t.batch.wall.median),
      p95: ms(t.batch.wall.p95),
      ratio: `${x(t.batch.overBound)} (of medians ${x(t.batch.overBoundOfMedians)}); peak ${t.batch.peakInFlight} in flight; ${x(t.batch.overUploadBound)} the upload-phase bound`,
      budget: `≤ ${B.wallOverBound.toFixed(2)}x bound`,
      pass: verdictOf(t.batch.overBound, t.batch.overBoundOfMedians),
    });
  }
  if (t.default) {
    rows.push({
      metric: `side-by-side: lockstep default settings (no flag)${n('default')}`,
      median: ms(t.default.wall.median),
      p95: ms(t.default.wall.p95),
      ratio: `${x(t.default.overBound)} its bound`,
      budget: `≤ ${B.defaultMs / 1000} s`,
      pass: t.default.wall.median <= B.defaultMs,
    });
  }
  if (t.lerna) {
    for (const v of ['batch', 'default']) {
      if (!t[v]) continue;
      const ofMedians = t[v].cpuPerPackageMs / t.lerna.cpuPerPackageMs;
      rows.push({
        metric: `side-by-side: CPU per package, lockstep ${v} vs Lerna (${ms(t.lerna.cpuPerPackageMs)})`,
        median: ms(t[v].cpuPerPackageMs),
        p95: '—',
        ratio: `${x(ofMedians)} Lerna (same-round pairs ${x(p[`${v}CpuOverLerna`])})`,
        budget: `≤ ${B.cpuOverLerna.toFixed(2)}x Lerna`,
        pass: verdictOf(ofMedians, p[`${v}CpuOverLerna`], B.cpuOverLerna),
      });
    }
    if (t.batch) {
      rows.push({
        metric: 'side-by-side: wall, lockstep --batch vs Lerna',
        median: ms(t.batch.wall.median),
        p95: '—',
        ratio: `${x(t.batch.wall.median / t.lerna.wall.median)} Lerna's ${s1(t.lerna.wall.median)} (same-round pairs ${x(p.batchWallOverLerna)})`,
        budget: '—',
      });
    }
  }
  if (t['per-task'] && t['noop-per-task']) {
    const ofMedians = t['per-task'].wall.median / t['noop-per-task'].wall.median;
    rows.push({
      metric: `side-by-side: lockstep per task vs Nx's per-task floor (${s1(t['noop-per-task'].wall.median)})${n('per-task')}`,
      median: ms(t['per-task'].wall.median),
      p95: ms(t['per-task'].wall.p95),
      ratio: `${x(ofMedians)} floor (same-round pairs ${x(p.perTaskOverFloor)}); ${x(t['per-task'].overBound)} its bound`,
      budget: `≤ ${B.perTaskOverFloor.toFixed(2)}x floor`,
      pass: verdictOf(ofMedians, p.perTaskOverFloor, B.perTaskOverFloor),
    });
  }
  return rows;
}

function sideBySideNotes(sbs) {
  const c = sbs.config;
  const out = [
    `- side-by-side: ${c.packages} packages in ${c.levels} levels (${c.edges} internal dependencies), proxy +${c.latencyMs} ms per request, concurrency ${c.concurrency}; ` +
      `${c.reps} rounds, tools in a rotating order, each run on a fresh Verdaccio; Lerna ${c.lerna ? c.lerna.version : '—'}${c.lerna && c.lerna.installedNow ? ` (installed now, ${s1(c.lerna.installMs)})` : ''}. ` +
      `Medians; "wall ÷ bound" is each run over the bound from the proxy's log of that same run, median over runs; CPU is user + sys of the tool's whole process tree (RUSAGE_CHILDREN, Nx daemon off), registry CPU the Verdaccio process's (/proc/<pid>/stat).`,
    `- the bound charges each request to its package as the proxy timed it (latency included): critical path = longest dependency chain of (upload + what follows it), Σ = every request; a tool that makes more requests gets a larger bound (requests per package shown), and one with more than ${c.concurrency} requests in flight can beat Σ ÷ ${c.concurrency}.`,
  ];
  const inv = sbs.analysis.invalidRuns;
  if (inv.length) out.push(`- invalid runs (failed or not verified): ${inv.join(' | ')}`);
  return out.join('\n');
}

/** Rows of `--scale`: 500 packages vs its bound, peak RSS, faults at 60 and 500, journal flat. */
function buildScalePublishRows(sc) {
  const a = sc.analysis;
  const B = PUBLISH_BUDGETS;
  const rows = [];
  const L = a.large;
  rows.push({
    metric: `scale: ${L.packages} packages in ${L.levels} levels, lockstep --batch, over the bound of its own run (n=${L.free.n})`,
    median: ms(L.free.wall.median),
    p95: ms(L.free.wall.p95),
    ratio: `${x(L.free.overBound)} (bound ${s1(L.free.boundMs)}; of medians ${x(L.free.wall.median / L.free.boundMs)}); peak ${L.free.peakInFlight} in flight; ${x(L.free.overUploadBound)} the upload-phase bound ${s1(L.free.uploadBoundMs)}`,
    budget: `≤ ${B.wallOverBound.toFixed(2)}x bound`,
    pass: verdictOf(L.free.overBound, L.free.wall.median / L.free.boundMs),
  });
  const largest = Math.max(L.free.maxRssMiB, L.faults.maxRssMiB);
  rows.push({
    metric: `scale: peak RSS of the largest process at ${L.packages} packages (RUSAGE_CHILDREN maxrss; max over runs, faults included)`,
    median: mib(largest),
    p95: '—',
    ratio: '—',
    budget: `< ${B.peakRssMiB} MiB`,
    pass: largest < B.peakRssMiB,
  });
  rows.push({
    metric: `scale: peak RSS of the whole process tree at ${L.packages} packages (Nx's main process + the batch worker; sampled every 200 ms)`,
    median: mib(Math.max(L.free.treePeakRssMiB, L.faults.treePeakRssMiB)),
    p95: '—',
    ratio: `${Math.max(L.free.treePeakProcesses, L.faults.treePeakProcesses)} processes at the peak; at ${a.small.packages} packages ${mib(Math.max(a.small.free.treePeakRssMiB, a.small.faults.treePeakRssMiB))}`,
    budget: '—',
  });
  for (const size of ['small', 'large']) {
    const s = a[size];
    const inj = s.faults.faultsInjected.length ? `${Math.min(...s.faults.faultsInjected)}–${Math.max(...s.faults.faultsInjected)} faults/run` : '';
    rows.push({
      metric: `faults: ${s.packages} packages, 5 % injected 429/503 (Retry-After 1 s), ${inj} (n=${s.faults.n})`,
      median: ms(s.faults.wall.median),
      p95: ms(s.faults.wall.p95),
      ratio: `${x(s.faultsOverFree)} fault-free ${s1(s.free.wall.median)} (same-round pairs ${x(s.faultsOverFreePaired)})`,
      budget: `≤ ${B.faultsOverFaultFree.toFixed(2)}x`,
      pass: verdictOf(s.faultsOverFree, s.faultsOverFreePaired, B.faultsOverFaultFree),
    });
  }
  const j = sc.journal;
  if (j) {
    const [small, large] = Object.keys(j.summary).map(Number).sort((p, q) => p - q);
    rows.push({
      metric: `journal: cost per transition, ${small} → ${large} packages in the run`,
      median: `${ms(j.summary[small].transition.median)} → ${ms(j.summary[large].transition.median)}`,
      p95: ms(j.summary[large].transition.p95),
      ratio: `${x(j.ratio)} (fs floor ${x(j.floorRatio)})`,
      budget: `≤ ${B.journalFlatRatio.toFixed(2)}x (flat)`,
      pass: j.ratio <= B.journalFlatRatio,
    });
  }
  return rows;
}

function scalePublishNotes(sc) {
  const a = sc.analysis;
  const out = [];
  for (const size of ['small', 'large']) {
    const s = a[size];
    out.push(
      `- scale ${s.packages} packages: fault-free ${s1(s.free.wall.median)} (bound ${s1(s.free.boundMs)}, CPU ${s1(s.free.cpuMs)}, registry CPU ${s1(s.free.registryCpuMs)}, ${Number.isFinite(s.free.requestsPerPackage) ? s.free.requestsPerPackage.toFixed(2) : '—'} requests per package); ` +
        `with faults ${s1(s.faults.wall.median)} (CPU ${s1(s.faults.cpuMs)}); largest process ${mib(s.free.maxRssMiB)}, whole tree ${mib(s.free.treePeakRssMiB)}.`,
    );
  }
  if (a.invalidRuns.length) out.push(`- invalid runs: ${a.invalidRuns.join(' | ')}`);
  return out.join('\n');
}

module.exports = {
  PUBLISH_BUDGETS,
  buildPublishRows,
  publishNotes,
  missedPublish,
  borderlinePublish,
  sideBySideTable,
  buildSideBySideRows,
  sideBySideNotes,
  buildScalePublishRows,
  scalePublishNotes,
};
