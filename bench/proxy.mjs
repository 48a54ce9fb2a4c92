// Throughput of the demo backend directly and through metricproxy (1 worker),
// with 0 metrics and with the 4-metric set; wrk, keep-alive, bounded in time.
// Usage: node bench/proxy.mjs [seconds]
import { ensureWrk, freePort, machineDescription, runWrk, startMetricproxy, writeResult } from './lib.mjs';

const seconds = Number(process.argv[2] ?? 10);

const backendConf = (port) => `
worker_processes 1;
http { server { listen 127.0.0.1:${port}; location / { return 200 "hello from the demo backend\\n"; } } }`;

const FOUR_METRICS = `
  metric_zone bench_methods:1m count;
  metric_zone bench_times:4m histogram 0.005 0.01 0.05 0.1 0.5 1 inf;
  metric_zone bench_status:1m average exp;
  metric_zone bench_inflight:1m gauge;`;

const proxyConf = (port, backendPort, withMetrics, dataDir) => `
worker_processes 1;
http {
  ${withMetrics ? `metric_store ${dataDir};${FOUR_METRICS}` : ''}
  upstream demo { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://demo;
      ${
        withMetrics
          ? `metric bench_methods $request_method;
      metric bench_times $uri=$request_time;
      metric bench_status $status=$request_time;
      metric bench_inflight all=1 on=request;
      metric bench_inflight all=-1 on=end;`
          : ''
      }
    }
  }
}`;

async function main() {
  ensureWrk();
  const backendPort = await freePort();
  const backend = await startMetricproxy(backendConf(backendPort), backendPort);
  const rows = [];
  try {
    rows.push(['backend direct', runWrk(`http://127.0.0.1:${backendPort}/`, { seconds })]);
    for (const withMetrics of [false, true]) {
      const port = await freePort();
      const proxy = await startMetricproxy(proxyConf(port, backendPort, withMetrics, 'data'), port);
      try {
        runWrk(`http://127.0.0.1:${port}/`, { seconds: 2 }); // warm-up
        rows.push([`metricproxy, ${withMetrics ? '4 metrics' : '0 metrics'}`, runWrk(`http://127.0.0.1:${port}/`, { seconds })]);
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await backend.stop();
  }
  const base = rows[0][1].rps;
  const zero = rows[1][1].rps;
  let md = `# Proxy throughput\n\nMachine: ${machineDescription()}\n`;
  md += `Load: wrk -t2 -c64 -d${seconds}s, keep-alive, one small response; metricproxy 1 worker; backend: a metricproxy \`return\` server (1 worker).\n\n`;
  md += '| setup | req/s | p50 ms | p99 ms | vs backend | vs 0 metrics | errors |\n|---|---:|---:|---:|---:|---:|---:|\n';
  for (const [name, r] of rows) {
    md += `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.rps / base).toFixed(2)} | ${(r.rps / zero).toFixed(2)} | ${r.non2xx}${r.socketErrors ? ' ' + r.socketErrors : ''} |\n`;
  }
  console.log(md);
  writeResult('proxy.md', md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
