import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePorts, Proxy, request, ROOT, startProxy } from '../helpers/proc';
import { Prometheus, promtool, startPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/sys';

/**
 * Issue 20 item 1: three real metricproxy instances, one real Prometheus
 * scraping them every second with the shipped recording rules; the fleet's
 * sums, read through Prometheus's own HTTP API, equal what was sent.
 */
const PROM_DIR = path.join(ROOT, 'conf/prometheus');
const RULES = path.join(PROM_DIR, 'rules.yml');

/** Per instance: requests answered 200 (latency value v) and requests answered 500. */
const LOAD = [
  { ok: 40, v: 5, errors: 10 },
  { ok: 30, v: 5, errors: 10 },
  { ok: 20, v: 50, errors: 10 },
];

function instanceConf(front: number, admin: number): string {
  return `
worker_processes 1;
http {
    access_log off;
    include ${path.join(ROOT, 'conf/prometheus_all.conf')};
    metric_zone requests:1m count;
    metric_zone latency:1m histogram 1 10 100 +Inf;
    server {
        listen 127.0.0.1:${front};
        status_zone front;
        location /r/ { metric requests hits; metric latency ms=$arg_v; return 200 "ok\\n"; }
        location /e/ { return 500; }
    }
    server {
        listen 127.0.0.1:${admin};
        location = /metrics { prometheus all; }
    }
}
`;
}

function scrapeConf(admins: number[]): string {
  const targets = admins.map((port, i) => `      - targets: ['127.0.0.1:${port}']\n        labels: { instance: proxy-${i + 1} }`);
  return `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ${RULES}\nscrape_configs:\n  - job_name: metricproxy\n    static_configs:\n${targets.join('\n')}\n`;
}

const proxies: Proxy[] = [];
let prometheus: Prometheus | undefined;
afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(proxies.map((p) => p.stop()));
});

async function send(front: number, p: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await request(`http://127.0.0.1:${front}${p}`);
}

/** Polls an instant query until it answers `want` (scrapes and rule evaluations come every second). */
async function until(query: string, want: number): Promise<void> {
  let last: number | undefined;
  await waitFor(async () => ((last = await prometheus!.scalar(query)) === want ? true : undefined), 60_000, `${query} = ${want} (last ${last})`);
}

it('the shipped scrape config and rules pass promtool', () => {
  for (const args of [['check', 'config', path.join(PROM_DIR, 'prometheus.yml')], ['check', 'rules', RULES]]) {
    const r = promtool(args);
    expect(r.code, r.output).toBe(0);
  }
});

it('three instances scraped by a real Prometheus: the fleet sums equal the requests sent', async () => {
  const ports = await freePorts(6);
  const fronts = ports.slice(0, 3);
  const admins = ports.slice(3);
  for (let i = 0; i < 3; i++) proxies.push(await startProxy(instanceConf(fronts[i], admins[i]), [fronts[i], admins[i]]));
  prometheus = await startPrometheus(scrapeConf(admins));
  await until('count(up{job="metricproxy"} == 1)', 3);
  const instances = await prometheus.vector('up{job="metricproxy"}', 'instance');
  expect([...instances.keys()].sort()).toEqual(['proxy-1', 'proxy-2', 'proxy-3']);

  // One request of each kind first, scraped before the load, so the rates see every counter grow.
  for (const front of fronts) {
    await send(front, '/r/?v=5', 1);
    await send(front, '/e/', 1);
  }
  await until('sum(angie_http_server_zones_requests_total)', 6);
  await Promise.all(LOAD.map((l, i) => send(fronts[i], `/r/?v=${l.v}`, l.ok).then(() => send(fronts[i], '/e/', l.errors))));

  const ok = 3 + LOAD.reduce((n, l) => n + l.ok, 0);
  const errors = 3 + LOAD.reduce((n, l) => n + l.errors, 0);
  const sent = ok + errors;
  // Straight from the scraped samples, and through the shipped recording rules.
  await until('sum(angie_http_server_zones_requests_total{job="metricproxy"})', sent);
  await until('zone:angie_http_server_zones_requests_total:sum{zone="front"}', sent);
  await until('zone_code:angie_http_server_zones_responses:sum{zone="front",code="500"}', errors);
  await until('zone_key:angie_http_metric_zones_metrics:sum{zone="requests",key="hits"}', ok);
  // Every instance holds only its share: no instance alone equals the fleet.
  const perInstance = await prometheus.vector('angie_http_server_zones_requests_total{zone="front"}', 'instance');
  expect(Object.fromEntries(perInstance)).toEqual({ 'proxy-1': 52, 'proxy-2': 42, 'proxy-3': 32 });

  // Histogram buckets add up exactly: 3 warm-ups and 70 values of 5 are ≤ 10, 20 values of 50 ≤ 100.
  const buckets = 'zone_key_le:angie_http_metric_zones_metrics_bucket:sum{zone="latency",key="ms"';
  await until(`${buckets},le="+Inf"}`, ok);
  await until(`${buckets},le="100"}`, ok);
  await until(`${buckets},le="10"}`, ok - 20);
  await until(`${buckets},le="1"}`, 0);

  // Rates are estimates (extrapolated over the window): a fleet p99 in the bucket that holds it,
  // and a 5xx ratio near the one sent.
  await waitFor(async () => {
    const p99 = await prometheus!.scalar('zone_key:angie_http_metric_zones_metrics:p99_1m{zone="latency",key="ms"}');
    return p99 !== undefined && p99 > 10 && p99 <= 100 ? p99 : undefined;
  }, 60_000, 'fleet p99 in (10, 100]');
  await waitFor(async () => {
    const ratio = await prometheus!.scalar('zone:angie_http_server_zones_errors_5xx:ratio_rate1m{zone="front"}');
    return ratio !== undefined && Math.abs(ratio - errors / sent) < 0.1 ? ratio : undefined;
  }, 60_000, `5xx ratio near ${errors / sent}`);
}, 240_000);
