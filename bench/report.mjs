// Summaries of repeated runs (medians) and the markdown of the side-by-side comparison.
import { fixed, markdownTable, median } from './lib.mjs';

/** Medians over the runs of one setup; CPU per 10k requests from /proc utime+stime. */
export function summarise(runs) {
  const med = (f) => median(runs.map(f));
  const rates = runs.map((r) => r.rps);
  return {
    runs: runs.length,
    /** Per round, in round order: goals pair rounds of two setups (adjacent in time). */
    rates,
    cpus: runs.map((r) => r.proxyCpu / r.requests),
    rps: median(rates),
    spread: (Math.max(...rates) - Math.min(...rates)) / median(rates),
    p50: med((r) => r.p50),
    p99: med((r) => r.p99),
    cpuPer10k: med((r) => (r.proxyCpu / r.requests) * 1e4),
    proxyCores: med((r) => r.proxyCpu / r.seconds),
    backendCores: med((r) => r.backendCpu / r.seconds),
    wrkCores: med((r) => r.wrkCpu / r.seconds),
    otherCores: med((r) => r.otherCpu / r.seconds),
    errors: runs.reduce((n, r) => n + r.non2xx, 0),
    socketErrors: runs.map((r) => r.socketErrors).filter(Boolean).join('; '),
  };
}

const COLUMNS = [
  ['setup', 'l'],
  ['req/s', 'r'],
  ['spread', 'r'],
  ['p50 ms', 'r'],
  ['p99 ms', 'r'],
  ['CPU s / 10k req', 'r'],
  ['proxy cores', 'r'],
  ['backend cores', 'r'],
  ['wrk cores', 'r'],
  ['other cores', 'r'],
  ['errors', 'r'],
];

function row(name, s) {
  const errors = `${s.errors}${s.socketErrors ? ` (${s.socketErrors})` : ''}`;
  return [
    name,
    fixed(s.rps, 0),
    `${fixed(s.spread * 100, 0)}%`,
    fixed(s.p50, 2),
    fixed(s.p99, 2),
    fixed(s.cpuPer10k, 3),
    fixed(s.proxyCores, 2),
    fixed(s.backendCores, 2),
    fixed(s.wrkCores, 2),
    fixed(s.otherCores, 2),
    errors,
  ];
}

/** `entries` are [name, summary]. */
export function resultsTable(entries) {
  return markdownTable(COLUMNS, entries.map(([name, s]) => row(name, s)));
}

/**
 * Median over rounds of the ratio of `a` to `b` in the same round: the runs of one round are
 * close in time, so slow drift of the machine cancels out of the ratio.
 */
function pairedRatio(by, a, b, field) {
  const xs = by.get(a)?.[field];
  const ys = by.get(b)?.[field];
  if (!xs || !ys) return NaN;
  const n = Math.min(xs.length, ys.length);
  return median(Array.from({ length: n }, (_, i) => xs[i] / ys[i]));
}

/** The issue's goals, as paired ratios from the same session. */
export function goals(by) {
  const rps = (a, b) => pairedRatio(by, a, b, 'rates');
  const cpu = (a, b) => pairedRatio(by, a, b, 'cpus');
  return [
    ['metricproxy 4m 1w / node http-proxy', rps('mp-4m-1w', 'http-proxy'), '≥ 1.5', (v) => v >= 1.5],
    ['metricproxy 4m 1w / express + prom-client', rps('mp-4m-1w', 'express'), '≥ 4', (v) => v >= 4],
    ['metricproxy 4m 1w / nginx 1w', rps('mp-4m-1w', 'nginx-1w'), '≥ 0.40', (v) => v >= 0.4],
    ['metricproxy 4m 2w / nginx 2w', rps('mp-4m-2w', 'nginx-2w'), '≥ 0.40', (v) => v >= 0.4],
    ['4 metrics: throughput lost vs 0 metrics (1w)', 1 - rps('mp-4m-1w', 'mp-0m-1w'), '< 5%', (v) => v < 0.05, true],
    ['4 metrics: extra CPU per request vs 0 metrics (1w)', cpu('mp-4m-1w', 'mp-0m-1w') - 1, '< 5%', (v) => v < 0.05, true],
    ['4 metrics: extra CPU per request vs 0 metrics (2w)', cpu('mp-4m-2w', 'mp-0m-2w') - 1, '< 5%', (v) => v < 0.05, true],
    ['metricproxy 4m: 2 workers / 1 worker', rps('mp-4m-2w', 'mp-4m-1w'), '≥ 1.7', (v) => v >= 1.7],
  ];
}

export function goalsTable(by) {
  const rows = goals(by).map(([what, v, target, ok, pct]) => [
    what,
    pct ? `${fixed(v * 100, 1)}%` : `${fixed(v, 2)}×`,
    target,
    Number.isFinite(v) ? (ok(v) ? 'met' : '**missed**') : '–',
  ]);
  return markdownTable([['goal', 'l'], ['measured', 'r'], ['target', 'l'], ['', 'l']], rows);
}
