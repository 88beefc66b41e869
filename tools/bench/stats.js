'use strict';
/**
 * Small, dependency-free statistics for the benchmark harness.
 * Quantiles use linear interpolation between closest ranks (R-7 / numpy default),
 * so the median of an even-sized sample is the mean of the two middle values.
 */

function sorted(values) {
  return [...values].sort((a, b) => a - b);
}

function quantile(values, q) {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function mean(values) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

function stdev(values) {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** { n, median, p95, mean, stdev, min, max } of a sample (ms or whatever unit it is in). */
function summarize(values) {
  const s = sorted(values);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    p95: quantile(s, 0.95),
    mean: mean(s),
    stdev: stdev(s),
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
  };
}

module.exports = { quantile, median: (v) => quantile(v, 0.5), mean, stdev, summarize };
