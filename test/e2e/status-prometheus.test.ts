import type { Socket } from 'node:net';
import * as path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, ROOT, startBackend, startProxy } from '../helpers/proc';
import { exchange, Exchange } from './status-helpers';

type Labels = Record<string, string>;
type Family = { name: string; type: string; metrics: Array<{ value: string; labels?: Labels }> };

/** `name{a="1",b="2"}` with labels sorted, so samples compare whatever order the output used. */
function sampleKey(name: string, labels: Labels = {}): string {
  const sorted = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return `${name}{${sorted.join(',')}}`;
}

function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of parsePrometheusTextFormat(text) as Family[]) {
    for (const m of f.metrics) {
      const key = sampleKey(f.name, m.labels);
      expect(out.has(key), `${key} appears twice`).toBe(false);
      out.set(key, Number(m.value));
    }
  }
  return out;
}

function sum(xs: Exchange[], field: 'sent' | 'received'): number {
  return xs.reduce((n, x) => n + x[field], 0);
}

let proxy: Proxy | undefined;
let closeBackend: (() => Promise<void>) | undefined;
afterAll(async () => {
  await proxy?.stop();
  await closeBackend?.();
});

it('the stock template `all` exposes every branch of a known config, every sample exact', async () => {
  const backendSockets: Socket[] = [];
  const backend = await startBackend((_req, res) => res.end('backend\n'));
  backend.server.on('connection', (s: Socket) => backendSockets.push(s));
  closeBackend = backend.close;
  const [front, admin] = await freePorts(2);
  proxy = await startProxy(
    `
worker_processes 1;
http {
    access_log off;
    include ${path.join(ROOT, 'conf/prometheus_all.conf')};
    metric_zone methods:1m count;
    metric_zone sizes:1m histogram 10 100 inf;
    metric_complex_zone reqs:1m { hits count; size histogram 64 inf; }
    upstream backend { server 127.0.0.1:${backend.port}; }
    server {
        listen 127.0.0.1:${front};
        status_zone front;
        location /m/ {
            metric methods $request_method;
            metric sizes k=$arg_n;
            metric reqs k=$arg_n;
            return 200 "m\\n";
        }
        location /p/ { status_zone proxied; proxy_pass http://backend; }
    }
    server {
        listen 127.0.0.1:${admin};
        location = /metrics { prometheus all; }
        location /status/ { api /status/; }
    }
}
`,
    [front, admin],
  );
  const metered: Exchange[] = [];
  for (const n of [5, 50, 500]) metered.push(await exchange(front, `/m/?n=${n}`));
  const proxied = [await exchange(front, '/p/a'), await exchange(front, '/p/b')];
  const all = [...metered, ...proxied];

  // One worker: it writes its own counts before answering, so no waiting is needed.
  const scrape = await request(`http://127.0.0.1:${admin}/metrics`);
  expect(scrape.status).toBe(200);
  const got = samples(scrape.body);

  // Averages of upstream times depend on the machine: present and sane, not exact.
  for (const what of ['header_time', 'response_time']) {
    const key = sampleKey(`angie_http_upstreams_peers_health_${what}`, { upstream: 'backend', peer: `127.0.0.1:${backend.port}` });
    expect(got.get(key)).toBeGreaterThanOrEqual(0);
    got.delete(key);
  }

  type Slot = { used: number; free: number; reqs: number; fails: number };
  const slabs = (await getJson(`http://127.0.0.1:${admin}/status/slabs`)) as Record<string, { pages: { used: number; free: number }; slots: Record<string, Slot> }>;
  const ours = (await getJson(`http://127.0.0.1:${admin}/status/metricproxy/slabs`)) as Record<string, { chunks: { used: number; total: number }; keys: number }>;
  const expected = new Map<string, number>();
  const put = (name: string, labels: Labels, value: number) => expected.set(sampleKey(name, labels), value);
  // startProxy's two readiness probes, the five requests, this scrape.
  put('angie_connections_accepted', {}, 2 + 5 + 1);
  put('angie_connections_dropped', {}, 0);
  put('angie_connections_active', {}, 1);
  put('angie_connections_idle', {}, 0);
  for (const [zone, s] of Object.entries(slabs)) {
    put('angie_slabs_pages_used', { zone }, s.pages.used);
    put('angie_slabs_pages_free', { zone }, s.pages.free);
    for (const [size, slot] of Object.entries(s.slots)) {
      for (const field of ['used', 'free', 'reqs', 'fails'] as const) put(`angie_slabs_pages_slots_${field}`, { zone, size }, slot[field]);
    }
    put('metricproxy_slabs_chunks_used', { zone }, ours[zone].chunks.used);
    put('metricproxy_slabs_chunks_total', { zone }, ours[zone].chunks.total);
    put('metricproxy_slabs_keys', { zone }, ours[zone].keys);
  }
  expect(Object.keys(slabs)).toEqual(['methods', 'sizes', 'reqs']);
  for (const s of Object.values(slabs)) expect(Object.keys(s.slots)).toEqual(['128']);
  const z = { zone: 'front' };
  put('angie_http_server_zones_requests_total', z, 5);
  put('angie_http_server_zones_requests_processing', z, 0);
  put('angie_http_server_zones_requests_discarded', z, 0);
  put('angie_http_server_zones_responses', { ...z, code: '200' }, 5);
  put('angie_http_server_zones_data_received', z, sum(all, 'sent'));
  put('angie_http_server_zones_data_sent', z, sum(all, 'received'));
  const l = { zone: 'proxied' };
  put('angie_http_location_zones_requests_total', l, 2);
  put('angie_http_location_zones_requests_discarded', l, 0);
  put('angie_http_location_zones_responses', { ...l, code: '200' }, 2);
  put('angie_http_location_zones_data_received', l, sum(proxied, 'sent'));
  put('angie_http_location_zones_data_sent', l, sum(proxied, 'received'));
  const p = { upstream: 'backend', peer: `127.0.0.1:${backend.port}` };
  put('angie_http_upstreams_peers_selected_current', p, 0);
  put('angie_http_upstreams_peers_selected_total', p, 2);
  put('angie_http_upstreams_peers_responses', { ...p, code: '200' }, 2);
  put('angie_http_upstreams_peers_data_sent', p, backendSockets.reduce((n, s) => n + s.bytesRead, 0));
  put('angie_http_upstreams_peers_data_received', p, backendSockets.reduce((n, s) => n + s.bytesWritten, 0));
  // Angie's map turns the peer's text state into a number: up = 1.
  put('angie_http_upstreams_peers_state', p, 1);
  put('angie_http_upstreams_peers_health_fails', p, 0);
  put('angie_http_upstreams_peers_health_unavailable', p, 0);
  put('angie_http_upstreams_peers_health_downtime', p, 0);
  // Both requests went over one kept-alive connection, idle now.
  put('angie_http_upstreams_keepalive', { upstream: 'backend' }, 1);
  for (const zone of ['methods', 'sizes', 'reqs']) put('angie_http_metric_zones_discarded', { zone }, 0);
  put('angie_http_metric_zones_metrics', { zone: 'methods', key: 'GET' }, 3);
  put('angie_http_metric_zones_metrics', { zone: 'reqs', key: 'k', metric: 'hits' }, 3);
  put('angie_http_metric_zones_metrics_bucket', { zone: 'sizes', key: 'k', le: '10' }, 1);
  put('angie_http_metric_zones_metrics_bucket', { zone: 'sizes', key: 'k', le: '100' }, 2);
  put('angie_http_metric_zones_metrics_bucket', { zone: 'sizes', key: 'k', le: 'inf' }, 3);
  put('angie_http_metric_zones_metrics_bucket', { zone: 'reqs', key: 'k', metric: 'size', le: '64' }, 2);
  put('angie_http_metric_zones_metrics_bucket', { zone: 'reqs', key: 'k', metric: 'size', le: 'inf' }, 3);

  expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...expected].sort()));
  expect(scrape.body.startsWith('# Angie Prometheus template "all"\n')).toBe(true);
});
