'use strict';
/** What the bench entry points (run.js, publish-run.js) share: the environment record, file stamps, the table. */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..', '..');

function git(args) {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The machine and the commit a run measured; `extra` adds fields of one bench (e.g. its directory's filesystem). */
function environment(extra = {}) {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0] && cpus[0].model,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    ...extra,
    loadavgAtStart: os.loadavg(),
    commit: git(['rev-parse', 'HEAD']),
    dirty: (git(['status', '--porcelain']) || '').length > 0,
  };
}

/** 2026-11-23T15:36:24Z → a file-name-safe stamp. */
function stamp(d) {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Rows `{ metric, median, p95, ratio, budget, pass }` (pass: true, false, 'mixed' or undefined for info) as markdown. */
function markdownTable(rows) {
  const header = ['metric', 'median', 'p95', 'ratio', 'budget', 'result'];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];
  for (const r of rows) {
    const result = r.pass === undefined ? 'info' : r.pass === 'mixed' ? 'borderline' : r.pass ? 'pass' : '**MISSED**';
    lines.push(`| ${[r.metric, r.median, r.p95, r.ratio, r.budget, result].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Writes every raw figure to `<dir>/<prefix>-<stamp>.json`; returns the file. */
function saveResults(dir, prefix, startedAt, results) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${prefix}-${stamp(startedAt)}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** A warning line when the 1-min load average was above 3/4 of the CPUs, else undefined. */
function busyWarning(load, when) {
  const cpus = os.cpus().length;
  if (load <= cpus * 0.75) return undefined;
  return `- warning: the machine was busy ${when} (1-min load average ${load.toFixed(2)} on ${cpus} CPUs): absolute times are suspect, ratios less so.`;
}

module.exports = { repoRoot, git, environment, stamp, saveResults, markdownTable, busyWarning };
