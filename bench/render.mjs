// Status rendering: how long the JSON API and Prometheus renders take at 10 / 1,000 / 10,000 /
// 100,000 keys (the real CLI, one worker, zones filled through real requests), and what a scrape
// per second of the 10,000-key complex zone does to the p99 of proxied requests on the same worker.
//   npm run build && node bench/render.mjs [--keys 10,1000,10000,100000] [--seconds 8] [--repeats 5] [--out render.md]
// Writes bench/results/render.md (or --out). Another build: MP_DIST=... (see build-copy.mjs).
// Angie is not compared here (no Angie binary on this machine).
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { DIST, fixed, freePort, markdownTable, median, parseArgs, ROOT, runWrk, startMetricproxy, writeResult } from './lib.mjs';
import { startBackend } from './setups.mjs';

const opts = parseArgs(process.argv.slice(2), { keys: '10,1000,10000,100000', seconds: 8, repeats: 5, out: 'render.md' });
const KEY_STEPS = opts.keys.split(',').map(Number);
/** Distinct keys one fill request adds to each zone. */
const PER_REQUEST = 10;
const LOAD_KEYS = 10000;

const template = (name, entries) => `prometheus_template ${name} {\n${entries.join('\n')}\n}`;

function config(port, backendPort) {
  const fill = [];
  for (let i = 0; i < PER_REQUEST; i++) fill.push(`metric cnt $arg_p-${i};`, `metric cx $arg_p-${i}=0.0${i};`);
  return `
worker_processes 1;
http {
  include ${path.join(ROOT, 'conf/prometheus_all.conf')};
  metric_zone cnt:256m count;
  metric_complex_zone cx:256m { n count; h histogram 0.005 0.01 0.05 0.1 0.5 1 5; avg average exp; }
  ${template('cx', [
    `'cx_n{key="$1"}' $p8s_value path=~^/http/metric_zones/cx/metrics/([^/]+)/n$;`,
    `'cx_bucket{key="$1",le="$2"}' $p8s_value path=~^/http/metric_zones/cx/metrics/([^/]+)/h/([^/]+)$;`,
    `'cx_avg{key="$1"}' $p8s_value path=~^/http/metric_zones/cx/metrics/([^/]+)/avg$;`,
  ])}
  ${template('one', [`'one' $p8s_value path=/http/metric_zones/cx/metrics/k0-0/n;`])}
  upstream backend { server 127.0.0.1:${backendPort}; }
  server {
    listen 127.0.0.1:${port};
    location = /fill { ${fill.join(' ')} return 204; }
    location /status/ { api /status/; }
    location = /metrics { prometheus all; }
    location = /metrics/cx { prometheus cx; }
    location = /metrics/one { prometheus one; }
    location / { proxy_pass http://backend; }
  }
}`;
}

/** GET on a fresh connection; resolves with [status, bytes, ms to the last byte]. */
function timedGet(url) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    http
      .get(url, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c) => (bytes += c.length));
        res.on('end', () => resolve([res.statusCode, bytes, performance.now() - start]));
      })
      .on('error', reject);
  });
}

/** Fill requests p = from..to-1 over 8 keep-alive connections. */
async function fill(base, from, to) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let next = from;
  const one = (p) =>
    new Promise((resolve, reject) => {
      http
        .get(`${base}/fill?p=k${p}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`fill: ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < to) await one(next++);
  }));
  agent.destroy();
}

const RENDERS = [
  ['JSON, count zone', '/status/http/metric_zones/cnt/?pretty=off'],
  ['JSON, complex zone', '/status/http/metric_zones/cx/?pretty=off'],
  ['JSON, whole /status/', '/status/?pretty=off'],
  ['`prometheus all`', '/metrics'],
  ['`prometheus` of the complex zone', '/metrics/cx'],
  ['`prometheus` naming one key', '/metrics/one'],
];

async function timeRenders(base, keys) {
  const row = [String(keys)];
  for (const [, p] of RENDERS) {
    const times = [];
    let size = 0;
    let failed = 0;
    for (let i = 0; i < (keys >= 100000 ? 3 : opts.repeats) && failed === 0; i++) {
      const [status, bytes, ms] = await timedGet(base + p);
      if (status !== 200) failed = status;
      times.push(ms);
      size = bytes;
    }
    // A build that cannot render this (the old renderer answered 500 past ~120,000 samples) is shown as such.
    row.push(failed !== 0 ? `answered ${failed}` : `${fixed(median(times), 1)} (${(size / 1024).toFixed(0)} KiB)`);
  }
  return row;
}

/** A child process that GETs `url` once per second until stopped; it reports each render's ms. */
function startScraper(url) {
  const code = `
    const http = require('node:http');
    const get = () => { const t = performance.now(); http.get(${JSON.stringify(url)}, { agent: false }, (res) => {
      res.resume(); res.on('end', () => process.stdout.write((performance.now() - t).toFixed(1) + '\\n')); }); };
    get(); setInterval(get, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const times = [];
  child.stdout.on('data', (d) => times.push(...String(d).trim().split('\n').map(Number)));
  return { times, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

async function latencyRun(base, scrapePath) {
  const scraper = scrapePath === undefined ? undefined : startScraper(base + scrapePath);
  // The wrk run blocks this process (execFileSync); the scraper runs in its own.
  const r = runWrk(`${base}/proxied`, { seconds: opts.seconds, connections: 8, threads: 1 });
  await scraper?.stop();
  return { ...r, scrapes: scraper?.times ?? [] };
}

async function main() {
  const backend = await startBackend();
  const port = await freePort();
  const mp = await startMetricproxy(config(port, backend.port), port);
  const base = `http://127.0.0.1:${port}`;
  try {
    const renderRows = [];
    let filled = 0;
    let latency;
    for (const keys of KEY_STEPS) {
      await fill(base, filled / PER_REQUEST, Math.ceil(keys / PER_REQUEST));
      filled = Math.ceil(keys / PER_REQUEST) * PER_REQUEST;
      console.log(`${filled} keys per zone`);
      renderRows.push(await timeRenders(base, filled));
      if (filled === LOAD_KEYS) {
        runWrk(`${base}/proxied`, { seconds: 1, connections: 8, threads: 1 }); // warm-up
        latency = [
          ['no scrapes', await latencyRun(base)],
          ['JSON of the complex zone, 1/s', await latencyRun(base, '/status/http/metric_zones/cx/?pretty=off')],
          ['`prometheus` of the complex zone, 1/s', await latencyRun(base, '/metrics/cx')],
        ];
      }
    }
    writeResult(opts.out, report(renderRows, latency));
  } finally {
    await mp.stop();
    await backend.stop();
  }
}

function report(renderRows, latency) {
  const columns = [['keys per zone', 'r'], ...RENDERS.map(([name]) => [`${name}, ms`, 'r'])];
  let md = `# Status rendering (build: ${path.relative(ROOT, DIST)})\n\n${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end (a shared machine: absolute times carry its load).\n\n`;
  md += `## Render time (client-side, to the last byte; median of ${opts.repeats}, 3 at 100,000 keys)\n\n`;
  md += 'Both zones hold the given number of keys; the complex zone is count + 7-bound histogram + average.\n\n';
  md += markdownTable(columns, renderRows);
  if (latency !== undefined) {
    const base = latency[0][1];
    md += `\n## Proxied requests while the ${LOAD_KEYS}-key complex zone is scraped once per second\n\n`;
    md += `wrk -t1 -c8 for ${opts.seconds} s through the same single worker to an nginx backend.\n\n`;
    const rows = latency.map(([name, r]) => [
      name,
      fixed(r.rps, 0),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      fixed(r.p99 / base.p99, 2),
      r.scrapes.length === 0 ? '–' : `${r.scrapes.length} × median ${fixed(median(r.scrapes), 0)} ms`,
    ]);
    md += markdownTable(
      [['scrapes', 'l'], ['req/s', 'r'], ['p50 ms', 'r'], ['p99 ms', 'r'], ['p99 / without', 'r'], ['scrapes', 'r']],
      rows,
    );
  }
  return md;
}

await main();
