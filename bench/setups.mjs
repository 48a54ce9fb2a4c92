// The setups compared side by side: each starts one proxy in front of the shared backend and
// returns { pid, port, stop }; the pid is the root of the process tree whose CPU time is counted.
import * as path from 'node:path';
import { BENCH, freePort, startMetricproxy, startNginx, startProgram } from './lib.mjs';
import { backendHttp, FOUR_HISTOGRAMS, FOUR_METRICS, FOUR_QUANTILES, metricproxyConf, nginxProxyHttp, NO_METRICS, SIXTEEN_METRICS } from './configs.mjs';

async function nodeServer(file, backendPort) {
  const port = await freePort();
  const proc = await startProgram(process.execPath, [path.join(BENCH, 'servers', file), String(port), String(backendPort)], { port });
  return { ...proc, port };
}

async function nginxProxy(backendPort, workers) {
  const port = await freePort();
  return { ...(await startNginx(nginxProxyHttp(port, backendPort), port, workers)), port };
}

async function metricproxy(backendPort, workers, metrics, nodeArgs, dist) {
  const port = await freePort();
  const conf = metricproxyConf({ port, backendPort, workers, metrics });
  return { ...(await startMetricproxy(conf, port, { nodeArgs, dist })), port };
}

const METRIC_SETS = [
  ['0 metrics', NO_METRICS],
  ['4 metrics', FOUR_METRICS],
  ['16 metrics', SIXTEEN_METRICS],
];

/**
 * metricproxy setups by key (`mp-4m-1w`), so other benches (profile) can start the same one.
 * `build` ({ name, dist }) runs another build than dist/, keyed `mp-4m-1w@name`.
 */
export function metricproxySetup(metricsName, workers, build) {
  const [name, metrics] = METRIC_SETS.find(([n]) => n === metricsName);
  const key = `mp-${name.split(' ')[0]}m-${workers}w`;
  return {
    key: build ? `${key}@${build.name}` : key,
    name: `metricproxy, ${name}, ${workers}w${build ? ` [${build.name}]` : ''}`,
    start: (backendPort, nodeArgs) => metricproxy(backendPort, workers, metrics, nodeArgs, build?.dist),
  };
}

/** The metricproxy setups once per build, for before/after runs: builds are [{ name, dist }]. */
export function buildSetups(builds) {
  const setups = [];
  for (const workers of [1, 2]) {
    for (const [name] of METRIC_SETS) for (const build of builds) setups.push(metricproxySetup(name, workers, build));
  }
  return setups;
}

/**
 * Run only when named with --only (not part of the stock table): 4 quantile metrics per request
 * against 4 histogram metrics, one worker (`--only mp-4hist-1w,mp-4quant-1w`).
 */
export function modeSetups() {
  return [['4 histograms', 'mp-4hist-1w', FOUR_HISTOGRAMS], ['4 quantiles', 'mp-4quant-1w', FOUR_QUANTILES]].map(([name, key, metrics]) => ({
    key,
    name: `metricproxy, ${name}, 1w`,
    optIn: true,
    start: (backendPort, nodeArgs) => metricproxy(backendPort, 1, metrics, nodeArgs),
  }));
}

/** The proxies of the comparison, in table order. The backend itself is measured as the ceiling. */
export function proxySetups() {
  const setups = [
    { key: 'nginx-1w', name: 'nginx, 1w', start: (b) => nginxProxy(b, 1) },
    { key: 'nginx-2w', name: 'nginx, 2w', start: (b) => nginxProxy(b, 2) },
    { key: 'http-proxy', name: 'node http-proxy, no metrics', start: (b) => nodeServer('http-proxy.mjs', b) },
    { key: 'express', name: 'express + http-proxy-middleware + prom-client', start: (b) => nodeServer('express.mjs', b) },
  ];
  for (const workers of [1, 2]) for (const [name] of METRIC_SETS) setups.push(metricproxySetup(name, workers));
  return setups;
}

/** The backend: one nginx worker answering from memory, so at most one core (its CPU use is reported). */
export async function startBackend() {
  const port = await freePort();
  return { ...(await startNginx(backendHttp(port), port, 1)), port };
}
