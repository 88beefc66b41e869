'use strict';
/**
 * The bound of one publish run, computed from the fault proxy's own log of
 * that run (side-by-side.js, scale-publish.js): what the registry traffic the
 * tool made costs at the least, whatever the tool does between requests.
 *
 * Each request is charged to the package its path names (`/@s%2fname`,
 * `/@s/name/-/name-1.0.0.tgz`); requests naming no package (`/-/whoami`, …)
 * are `unattributed`. Per package:
 *   total = Σ durations of its requests, as the proxy saw them (its latency
 *           included): pre-check reads, the upload, verification reads, retries;
 *   post  = the part from its upload on (the successful PUT and every request
 *           after it started): what must happen before a dependent may go.
 * bound = max(critical path, (Σ total + unattributed) ÷ concurrency), where
 * the critical path is the longest chain of `post` through the dependency
 * graph (level 0 → level L; pre-checks can all be made up front, so they are
 * only in the Σ term). A tool that makes more requests gets a larger bound: the
 * report prints requests per package next to it, so that is visible. A tool
 * that keeps more than `concurrency` requests in flight (lockstep's pre-check
 * reads) can beat the Σ term, so a second, stricter reading is returned too:
 * `uploadBoundMs` = max(critical path, Σ post ÷ concurrency), the bound of the
 * upload phase alone (every pre-check free, made up front).
 */
const { nameOfPath } = require('./publish-bench');

/**
 * log: the proxy's [{ method, path, status, start, end }]; graph: layeredGraph();
 * names: optional filter (only these package names count).
 */
function boundFromProxy(log, graph, concurrency) {
  const known = new Set(graph.nodes.map((n) => n.name));
  const byName = new Map();
  let unattributedMs = 0;
  let unattributed = 0;
  const events = [];
  for (const r of log) {
    const end = r.end ?? r.start;
    events.push([r.start, 1], [end, -1]);
    const name = nameOfPath(r.path);
    if (!name || !known.has(name)) {
      unattributedMs += end - r.start;
      unattributed += 1;
      continue;
    }
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(r);
  }
  const total = new Map();
  const post = new Map();
  let requests = 0;
  for (const [name, reqs] of byName) {
    requests += reqs.length;
    const put = reqs.filter((r) => r.method === 'PUT' && typeof r.status === 'number' && r.status < 300).pop();
    let t = 0;
    let p = 0;
    for (const r of reqs) {
      const d = (r.end ?? r.start) - r.start;
      t += d;
      if (put && r.start >= put.start) p += d;
    }
    total.set(name, t);
    post.set(name, p);
  }
  // Longest chain of `post` through the dependency graph; graph.nodes are in level order.
  const chain = new Map();
  let criticalPathMs = 0;
  for (const node of graph.nodes) {
    const below = node.deps.reduce((m, d) => Math.max(m, chain.get(d) || 0), 0);
    const c = below + (post.get(node.name) || 0);
    chain.set(node.name, c);
    criticalPathMs = Math.max(criticalPathMs, c);
  }
  const sumMs = [...total.values()].reduce((a, b) => a + b, 0) + unattributedMs;
  const sumPostMs = [...post.values()].reduce((a, b) => a + b, 0);
  // Peak requests in flight at the proxy (ends sort before starts at the same instant).
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let peakInFlight = 0;
  for (const [, d] of events) {
    inFlight += d;
    peakInFlight = Math.max(peakInFlight, inFlight);
  }
  const perPackage = [...total.values()];
  return {
    boundMs: Math.max(criticalPathMs, sumMs / concurrency),
    criticalPathMs,
    sumMs,
    sumOverConcurrencyMs: sumMs / concurrency,
    uploadBoundMs: Math.max(criticalPathMs, sumPostMs / concurrency),
    sumPostMs,
    concurrency,
    packagesSeen: byName.size,
    requests: requests + unattributed,
    requestsPerPackage: byName.size ? requests / byName.size : NaN,
    unattributed,
    unattributedMs,
    perPackageMs: perPackage.length ? perPackage.reduce((a, b) => a + b, 0) / perPackage.length : NaN,
    peakInFlight,
    firstRequestAt: log.length ? Math.min(...log.map((r) => r.start)) : NaN,
    lastResponseAt: log.length ? Math.max(...log.map((r) => r.end ?? r.start)) : NaN,
  };
}

module.exports = { boundFromProxy };
