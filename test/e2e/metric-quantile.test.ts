import * as fs from 'node:fs';
import * as path from 'node:path';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { attachWebSocketEcho } from '../helpers/backends';
import { Example, startExample } from '../helpers/examples';
import { freePorts, getJson, makePrefix, Proxy, request, ROOT, runCli, startBackend, startProxy } from '../helpers/proc';

// The `quantile` mode through the real CLI: two workers, values from request
// variables, read back through the API, $metric_*_value and Prometheus.

let ex: Example | undefined;
let proxy: Proxy | undefined;
let backend: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await ex?.stop();
  await proxy?.stop('SIGTERM');
  await backend?.close();
  ex = undefined;
  proxy = undefined;
  backend = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilTrue(what: string, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what}: not reached`);
    await sleep(50);
  }
}

/** Sends every path, `parallel` at a time, so both workers take requests. */
async function sendAll(get: (p: string) => Promise<{ status: number }>, paths: string[], parallel = 16): Promise<void> {
  for (let i = 0; i < paths.length; i += parallel) {
    const replies = await Promise.all(paths.slice(i, i + parallel).map(get));
    for (const r of replies) expect(r.status).toBe(204);
  }
}

function expectWithin(shown: unknown, exact: number, alpha = 0.01): void {
  expect(typeof shown, `${JSON.stringify(shown)} vs ${exact}`).toBe('number');
  expect(Math.abs((shown as number) - exact)).toBeLessThanOrEqual(alpha * exact * (1 + 1e-9));
}

describe('quantile mode: the summary example, two workers', () => {
  it('percentiles within 1% in the API, one value by path, $metric_NAME_value_SUB, a valid Prometheus summary', async () => {
    ex = await startExample('quantile-summary');
    // 200 values 1 ms … 200 ms on route "users": nearest ranks of 0.5, 0.9, 0.99 are 100, 180, 198 ms.
    await sendAll(ex.get, Array.from({ length: 200 }, (_v, i) => `/route/users?t=${(i + 1) / 1000}`));
    const users = (await ex.json('/api/users')) as { p: Record<string, number>; sum: number; count: number };
    expect(Object.keys(users.p)).toEqual(['0.5', '0.9', '0.99']);
    expectWithin(users.p['0.5'], 0.1);
    expectWithin(users.p['0.9'], 0.18);
    expectWithin(users.p['0.99'], 0.198);
    expect(users.count).toBe(200);
    expect(users.sum).toBeCloseTo(20.1, 6);
    expect(await ex.json('/api/users/p/0.99')).toBe(users.p['0.99']);

    const text = (await ex.get('/show/users')).body.trim();
    expect(text.split(' ').map(Number)).toEqual([users.p['0.5'], users.p['0.9'], users.p['0.99']]);

    const metrics = (await ex.get('/metrics')).body.split('\n');
    const at = metrics.indexOf('# TYPE request_duration_seconds summary');
    expect(at).toBeGreaterThan(0);
    expect(metrics.slice(at + 1, at + 6)).toEqual([
      `request_duration_seconds{route="users",quantile="0.5"} ${users.p['0.5']}`,
      `request_duration_seconds{route="users",quantile="0.9"} ${users.p['0.9']}`,
      `request_duration_seconds{route="users",quantile="0.99"} ${users.p['0.99']}`,
      'request_duration_seconds_sum{route="users"} 20.1',
      'request_duration_seconds_count{route="users"} 200',
    ]);
  }, 60_000);

  it('nan, inf, -inf and 1e999 are not counted by the quantiles: the record and the JSON stay valid', async () => {
    ex = await startExample('quantile-summary');
    const odd = ['nan', 'inf', '-inf', '1e999', '-1e999'];
    await sendAll(ex.get, odd.map((v) => `/route/odd?t=${v}`));
    const odd1 = (await ex.json('/api/odd')) as { p: Record<string, unknown>; count: number };
    expect(odd1.p).toEqual({ '0.5': null, '0.9': null, '0.99': null });
    expect(odd1.count).toBe(odd.length);
    expect((await ex.get('/show/odd')).body).toBe('nan nan nan\n');
    // A key with no quantile yet leaves its quantile samples out: the scrape stays valid.
    expect((await ex.get('/metrics')).body).not.toMatch(/quantile="[^"]*"} *$/m);

    await sendAll(ex.get, ['0.5', ...odd].map((v) => `/route/mixed?t=${v}`));
    const mixed = (await ex.json('/api/mixed/p')) as Record<string, number>;
    for (const q of ['0.5', '0.9', '0.99']) expectWithin(mixed[q], 0.5);
  }, 60_000);
});

type Endpoints = Record<string, { requests: number; time_sum: number; latency: Record<string, number | null> }>;

describe('the endpoint-monitoring example', () => {
  it('per route: count, status classes, percentiles; in-flight HTTP and WebSocket apart; all in one scrape', async () => {
    // The upstream answers /slow after 50 ms, /missing with 404, /boom with 500, the rest at once.
    const app = await startBackend((req, res) => {
      const status = req.url === '/missing' ? 404 : req.url === '/boom' ? 500 : 200;
      setTimeout(() => res.writeHead(status).end('ok'), req.url === '/slow' ? 50 : 0);
    });
    attachWebSocketEcho(app.server);
    backend = app;
    ex = await startExample('endpoint-monitoring', { '127.0.0.1:9000': `127.0.0.1:${app.port}` });
    const paths = [...Array<string>(20).fill('/slow'), ...Array<string>(30).fill('/fast'), '/missing', '/missing', '/boom'];
    for (let i = 0; i < paths.length; i += 10) await Promise.all(paths.slice(i, i + 10).map((p) => ex!.get(p)));

    const routes = (await ex.json('/status/endpoints/metrics')) as Endpoints;
    expect(routes['/slow'].requests).toBe(20);
    expect(routes['/slow'].time_sum / 20).toBeGreaterThanOrEqual(0.05);
    expect(routes['/slow'].latency['0.5']).toBeGreaterThanOrEqual(0.05 * 0.98);
    expect(routes['/fast'].requests).toBe(30);
    const statuses = (await ex.json('/status/endpoint_status/metrics')) as Record<string, Record<string, number>>;
    expect(statuses['/missing']).toEqual({ '299': 0, '399': 0, '499': 2, '599': 2 });
    expect(statuses['/boom']).toEqual({ '299': 0, '399': 0, '499': 0, '599': 1 });

    const socket = new WebSocket(`ws://127.0.0.1:${ex.port}/ws/echo`);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error('websocket failed'));
    });
    const inflight = async () => (await ex!.json('/status/inflight/metrics')) as Record<string, number>;
    await untilTrue('the open tunnel counted', async () => (await inflight()).websocket === 1);
    expect((await inflight()).http).toBe(0);
    socket.close();
    await untilTrue('the closed tunnel uncounted', async () => (await inflight()).websocket === 0);

    const scrape = (await ex.get('/metrics')).body;
    expect(scrape).toContain('# TYPE endpoint_request_seconds summary');
    const p99 = /^endpoint_request_seconds\{route="\/slow",quantile="0\.99"\} (\S+)$/m.exec(scrape);
    expect(Number(p99?.[1])).toBeGreaterThanOrEqual(routes['/slow'].latency['0.99']!);
    expect(scrape).toContain('endpoint_request_seconds_count{route="/slow"} 20');
    expect(scrape).toContain('endpoint_responses{route="/boom",status_le="599"} 1');
    expect(scrape).toContain('endpoint_in_flight{kind="websocket"} 0');

    // The Grafana dashboard queries only series this scrape has.
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'conf/grafana/endpoint-monitoring.json'), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\bendpoint_\w+/g) ?? [])));
    expect(queried.size).toBe(5);
    for (const series of queried) expect(scrape, series).toMatch(new RegExp(`^${series}\\{`, 'm'));
  }, 60_000);
});

const zonesConf = (port: number, zones: string) => `
worker_processes 2;
http {
  ${zones}
  server {
    listen 127.0.0.1:${port};
    location /hit { metric keep k=$arg_v; metric q k=$arg_v; metric acc k=$arg_v; metric win k=$arg_v; return 204; }
    location /show { set $metric_keep_key k; return 200 "$metric_keep_value"; }
    location /api/ { api /status/http/metric_zones/; }
  }
}`;

const BEFORE = `
  metric_zone keep:1m quantile 0.5 0.99 accuracy=0.02 window=10m;
  metric_zone q:1m quantile 0.5 0.99;
  metric_zone acc:1m quantile 0.5 accuracy=0.02;
  metric_zone win:1m quantile 0.5 window=10m;`;

const AFTER = `
  metric_zone keep:1m quantile 0.5 0.99 accuracy=0.02 window=10m;
  metric_zone q:1m quantile 0.5 0.95;
  metric_zone acc:1m quantile 0.5 accuracy=0.03;
  metric_zone win:1m quantile 0.5 window=5m;`;

type Zones = Record<string, { metrics: Record<string, Record<string, number | null>> }>;

describe('quantile zones across reload and restart', () => {
  it('reload keeps an unchanged zone and empties one whose quantiles, accuracy or window changed; a restart keeps it', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(zonesConf(port, BEFORE), [port]);
    const zones = async () => (await getJson(`http://127.0.0.1:${port}/api/`)) as Zones;
    for (const v of [10, 20, 30]) expect((await request(`http://127.0.0.1:${port}/hit?v=${v}`)).status).toBe(204);
    const keep = (await zones()).keep.metrics.k;
    expectWithin(keep['0.5'], 20, 0.02);
    // $metric_NAME_value: the quantiles joined with spaces.
    expect((await request(`http://127.0.0.1:${port}/show`)).body).toBe(`${keep['0.5']} ${keep['0.99']}`);

    fs.writeFileSync(proxy.conf, zonesConf(port, AFTER));
    expect((await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload'])).code).toBe(0);
    await untilTrue('every worker on the new generation', async () => {
      const reads = await Promise.all(Array.from({ length: 10 }, zones));
      return reads.every((z) => Object.keys(z.q.metrics).length === 0 && Object.keys(z.acc.metrics).length === 0);
    });
    const after = await zones();
    expect(after.win.metrics).toEqual({});
    expectWithin(after.keep.metrics.k['0.5'], 20, 0.02);

    const prefix = proxy.prefix;
    await proxy.stop('SIGQUIT');
    proxy = await startProxy(zonesConf(port, AFTER), [port], { prefix });
    expectWithin((await zones()).keep.metrics.k['0.99'], 30, 0.02);
  }, 120_000);
});

describe('quantile configuration errors: one line each, exit 1', () => {
  it.each([
    ['quantile', 'no quantiles in "quantile"'],
    ['quantile 1', 'invalid quantile "1"'],
    ['quantile 0', 'invalid quantile "0"'],
    ['quantile abc', 'invalid quantile "abc"'],
    ['quantile 0.5 0.5', 'duplicated quantile "0.5"'],
    ['quantile 0.5 accuracy=0', 'invalid accuracy "0", expected 0.001 to 0.1'],
    ['quantile 0.5 window=0', 'the quantile window cannot be zero'],
  ])('metric_zone z:1m %s; → %s', async (mode, message) => {
    const { prefix, conf } = makePrefix(`http {\n  metric_zone z:1m ${mode};\n}\n`);
    const r = await runCli(['-p', prefix, '-c', conf]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`metricproxy: [emerg] ${message} in ${conf}:2\n`);
  });

  it('inside a complex zone, at the sub-metric line', async () => {
    const { prefix, conf } = makePrefix(`http {\n  metric_complex_zone z:1m {\n    n count;\n    p quantile 1.5;\n  }\n}\n`);
    const r = await runCli(['-p', prefix, '-c', conf]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`metricproxy: [emerg] invalid quantile "1.5" in ${conf}:4\n`);
  });
});
