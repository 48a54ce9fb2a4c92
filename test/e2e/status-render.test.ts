import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, ROOT, startProxy } from '../helpers/proc';

/**
 * Rendering at scale and keys that try to collide or forge labels, through
 * the real CLI: a zone of more than 240,000 keys scraped with the stock
 * `prometheus all` (it used to answer 500 for good past ~238,000 keys:
 * the sample list was spread onto the call stack), proxied requests served
 * while such a render runs, and keys `dup\xff`/`dup\xfe`/`a/b`/`victim/0.1`.
 */

/** Keys per request: one `metric` per suffix, so a request adds this many distinct keys. */
const KEYS_PER_REQUEST = 60;
const REQUESTS = 4200;
const BIG_KEYS = KEYS_PER_REQUEST * REQUESTS;

let proxy: Proxy;
let port: number;
const url = (p: string) => `http://127.0.0.1:${port}${p}`;

const FILL_METRICS = Array.from({ length: KEYS_PER_REQUEST }, (_, i) => `metric big $arg_p-${i};`).join(' ');

beforeAll(async () => {
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
worker_processes 1;
http {
  include ${path.join(ROOT, 'conf/prometheus_all.conf')};
  metric_zone big:128m count;
  metric_zone tenants:1m count;
  metric_complex_zone sizes:1m { n count; h histogram 0.1 1; }
  server {
    listen 127.0.0.1:${port};
    location = /fill { ${FILL_METRICS} return 204; }
    location = /tenant { metric tenants $http_x_tenant; metric sizes $http_x_tenant=0.5; return 204; }
    location = /ping { return 204; }
    location /status/ { api /status/; }
    location = /metrics { prometheus all; }
  }
}`,
    [port],
  );
}, 30_000);

afterAll(async () => proxy?.stop());

/** Sends `total` GETs over `connections` keep-alive connections; every answer must be 204. */
async function fill(total: number, connections: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  const one = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      http
        .get(url(`/fill?p=k${n}`), { agent }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`fill answered ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  const lane = async (): Promise<void> => {
    while (next < total) await one(next++);
  };
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
}

/** A raw-header request (header bytes sent as they are), answered 204. */
function tenant(keyBytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/tenant', agent: false }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)));
    req.on('error', reject);
    req.setHeader('x-tenant', keyBytes.toString('latin1'));
    req.end();
  });
}

describe('keys that used to collide or forge labels', () => {
  const KEYS = [Buffer.from('dup\xff', 'latin1'), Buffer.from('dup\xfe', 'latin1'), Buffer.from('a/b'), Buffer.from('victim/0.1')];

  beforeAll(async () => {
    for (const k of KEYS) expect(await tenant(k)).toBe(204);
  });

  it('show as distinct JSON members, \\xHH for bytes that are not UTF-8, each addressable by its member name', async () => {
    const r = await request(url('/status/http/metric_zones/tenants/metrics/?pretty=off'));
    expect(r.body).toBe('{"a/b":1,"dup\\\\xFE":1,"dup\\\\xFF":1,"victim/0.1":1}');
    for (const name of Object.keys(JSON.parse(r.body) as object)) {
      expect(await getJson(url(`/status/http/metric_zones/tenants/metrics/${encodeURIComponent(name)}`))).toBe(1);
    }
  });

  it('are one key label each in `prometheus all`: no duplicate series, no forged metric or le label', async () => {
    const lines = (await request(url('/metrics'))).body.split('\n');
    expect(lines.filter((l) => l.includes('zone="tenants"') && l.startsWith('angie_http_metric_zones_metrics'))).toEqual([
      'angie_http_metric_zones_metrics{zone="tenants",key="a/b"} 1',
      'angie_http_metric_zones_metrics{zone="tenants",key="dup\\\\xFE"} 1',
      'angie_http_metric_zones_metrics{zone="tenants",key="dup\\\\xFF"} 1',
      'angie_http_metric_zones_metrics{zone="tenants",key="victim/0.1"} 1',
    ]);
    expect(lines.filter((l) => l.includes('zone="sizes"') && l.includes('key="victim/0.1"'))).toEqual([
      'angie_http_metric_zones_metrics{zone="sizes",key="victim/0.1",metric="n"} 1',
      'angie_http_metric_zones_metrics_bucket{zone="sizes",key="victim/0.1",metric="h",le="0.1"} 0',
      'angie_http_metric_zones_metrics_bucket{zone="sizes",key="victim/0.1",metric="h",le="1"} 1',
    ]);
  });
});

describe('a zone of more than 240,000 keys', () => {
  beforeAll(async () => {
    await fill(REQUESTS, 8);
  }, 60_000);

  it('is scraped whole by `prometheus all`, one sample per key, while the worker keeps answering other requests', async () => {
    let scrapeHead = false;
    const scrape = new Promise<string>((resolve, reject) => {
      const req = http.get(url('/metrics'), { agent: false }, (res) => {
        scrapeHead = true;
        expect(res.statusCode).toBe(200);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      req.on('error', reject);
    });
    // Sequential pings on their own connection: each is sent only once the previous one was
    // answered. An unsliced render (one worker) would answer none of them before its own head.
    let pingsDuringRender = 0;
    while (!scrapeHead) {
      expect((await request(url('/ping'))).status).toBe(204);
      if (!scrapeHead) pingsDuringRender++;
    }
    const body = await scrape;
    expect(pingsDuringRender).toBeGreaterThanOrEqual(3);
    const samples = body.split('\n').filter((l) => l.startsWith('angie_http_metric_zones_metrics{zone="big",key="'));
    expect(samples).toHaveLength(BIG_KEYS);
    expect(samples).toContain('angie_http_metric_zones_metrics{zone="big",key="k4199-59"} 1');
    expect(body).toContain(`metricproxy_slabs_keys{zone="big"} ${BIG_KEYS}\n`);
  }, 60_000);

  it('is answered whole as JSON', async () => {
    const zone = (await getJson(url('/status/http/metric_zones/big/metrics/?pretty=off'))) as Record<string, number>;
    expect(Object.keys(zone)).toHaveLength(BIG_KEYS);
    expect(zone['k0-0']).toBe(1);
  }, 60_000);
});
