import * as fs from 'node:fs';
import * as path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, getJson, makePrefix, Proxy, request, ROOT, startProxy } from '../helpers/proc';

// The shipped demo (conf/proxy.conf), as `npx metricproxy` starts it, on free ports.
let proxy: Proxy;
let front: number;

beforeAll(async () => {
  const [p1, p2] = await freePorts(2);
  front = p1;
  const text = fs
    .readFileSync(path.join(ROOT, 'conf/proxy.conf'), 'utf8')
    .replace(/127\.0\.0\.1:8080/g, `127.0.0.1:${p1}`)
    .replace(/127\.0\.0\.1:8081/g, `127.0.0.1:${p2}`);
  const { prefix } = makePrefix(text);
  fs.copyFileSync(path.join(ROOT, 'conf/prometheus_all.conf'), path.join(prefix, 'conf/prometheus_all.conf'));
  proxy = await startProxy(text, [p1, p2], { prefix });
});

afterAll(async () => proxy?.stop());

it('proxies to its own demo backend and counts the requests', async () => {
  const r = await request(`http://127.0.0.1:${front}/hello`);
  expect(r.status).toBe(200);
  expect(r.body).toBe('hello from the demo backend: GET /hello\n');
  await request(`http://127.0.0.1:${front}/hello`, { method: 'POST', body: 'x' });
  const zones = (await getJson(`http://127.0.0.1:${front}/status/http/metric_zones/`)) as Record<string, { metrics: Record<string, unknown> }>;
  expect(zones.requests_by_method.metrics).toEqual({ GET: 1, POST: 1 });
  expect(zones.in_flight.metrics).toEqual({ now: 0 });
  expect(Object.keys(zones.avg_time_by_status.metrics)).toEqual(['200']);
});

it('writes an nginx combined access log', async () => {
  await request(`http://127.0.0.1:${front}/logged`, { headers: { 'user-agent': 'demo-test' } });
  const log = path.join(proxy.prefix, 'logs/access.log');
  let text = '';
  for (let i = 0; i < 100 && !text.includes('/logged'); i++) {
    await new Promise((r) => setTimeout(r, 20));
    text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
  }
  expect(text).toMatch(/127\.0\.0\.1 - - \[[^\]]+\] "GET \/logged HTTP\/1\.1" 200 \d+ "-" "demo-test"/);
});

it('answers Prometheus at /metrics through the stock template `all`', async () => {
  const r = await request(`http://127.0.0.1:${front}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toMatch(/^text\/plain/);
  const families = parsePrometheusTextFormat(r.body) as Array<{ name: string }>;
  const names = families.map((f) => f.name);
  expect(names).toContain('angie_connections_accepted');
  expect(names.some((n) => n.startsWith('angie_http_metric_zones'))).toBe(true);
});
