import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, ROOT, runCli, startProxy, type Reply } from '../helpers/proc';
import { until } from './status-helpers';
import { api, auditLines, tenantBackend, traffic } from './throttle-helpers';

const SAMPLES = 2;
const INTERVAL_MS = 1000;

const config = (front: number, inner: number, backend: number) => `
worker_processes 2;
http {
    access_log off;
    metric_complex_zone tenant_load:1m { latency last; }
    throttle_zone tenants:1m {
        watch     tenant_load/latency;
        above     0.5;
        samples   ${SAMPLES};
        interval  ${INTERVAL_MS}ms;
        limit     max_concurrency=4 ttl=5m;
        recover   below=0.1 samples=2;
        exempt    ops;
        status    429;
        audit_log logs/throttle.jsonl;
    }
    server {
        listen 127.0.0.1:${front};
        add_header X-Throttle $throttle_status always;
        location /api/ { throttle tenants $http_x_tenant; proxy_pass http://127.0.0.1:${inner}; }
        location /throttle/ { allow 127.0.0.1; deny all; throttle_api tenants; }
        location /status/ { api /status/; }
        location = /metrics { prometheus all; }
    }
    include ${path.join(ROOT, 'conf/prometheus_all.conf')};
    # The latency of admitted work: the backend's, measured behind the throttle.
    server {
        listen 127.0.0.1:${inner};
        location / { metric tenant_load $http_x_tenant=$request_time on=end; proxy_pass http://127.0.0.1:${backend}; }
    }
}`;

let proxy: Proxy;
let backend: Awaited<ReturnType<typeof tenantBackend>>;
let ports: number[];
const url = (p: string) => `http://127.0.0.1:${ports[0]}${p}`;
const call = (tenant: string) => request(url('/api/x'), { headers: { 'x-tenant': tenant } });
const stateOf = async (key: string) => ((await api(url(`/throttle/${key}`))).json.data as { state?: string } | undefined)?.state;
const audit = () => auditLines(path.join(proxy.prefix, 'logs/throttle.jsonl'));

/** Fires `n` requests of `tenant` at once; resolves with the answers that came back while the others are held. */
function concurrent(tenant: string, n: number): { done: Reply[]; all: Promise<Reply[]> } {
  const done: Reply[] = [];
  const all = Promise.all(Array.from({ length: n }, () => call(tenant).then((r) => (done.push(r), r))));
  return { done, all };
}

beforeAll(async () => {
  backend = await tenantBackend();
  ports = await freePorts(2);
  proxy = await startProxy(config(ports[0], ports[1], backend.port), ports);
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

describe('throttle driven by the metrics, two workers', () => {
  it('throttles slowed tenant A within samples × interval + 1 s; the exempt tenant is alerted on, never throttled', async () => {
    // Far over the threshold, which is far over what a loaded machine adds to B's answers.
    backend.setDelay('A', 800);
    backend.setDelay('ops', 800);
    const load = traffic(url('/api/x'), ['A', 'B', 'ops']);
    // The metric crosses when A's first slow answer is recorded.
    const crossedAt = Date.now() + 800;
    await until(() => stateOf('A'), (s) => s === 'AUTO_THROTTLED', 'A throttled');
    const detectionMs = Date.now() - crossedAt;
    await until(async () => audit().filter((l) => l.key === 'ops' && l.to === 'ALERTED').length, (n) => n > 0, 'ops alerted');
    await load.stop();
    console.log(`throttle detection latency: ${detectionMs} ms (bound ${SAMPLES * INTERVAL_MS + 1000} ms)`);
    // The bound, plus a second of slack for a loaded 2-core machine (timers and polling late).
    expect(detectionMs).toBeLessThanOrEqual(SAMPLES * INTERVAL_MS + 1000 + 1000);
    expect((await api(url('/throttle/ops'))).status).toBe(404);
    expect(await stateOf('B')).toBeUndefined();
    const trigger = audit().find((l) => l.key === 'A' && l.to === 'AUTO_THROTTLED');
    expect(trigger).toMatchObject({ from: 'NONE', source: 'auto', max_concurrency: 4, ttl_seconds: 300, actor: null });
    expect((trigger?.samples as number[]).every((v) => v > 0.5)).toBe(true);
  });

  it('rejects the 5th concurrent request of A with 429 and Retry-After while B is untouched', async () => {
    backend.hold('A');
    const a = concurrent('A', 5);
    await until(async () => ({ held: backend.held(), done: a.done.length }), (s) => s.held === 4 && s.done === 1, '4 held, 1 answered');
    expect(a.done[0]).toMatchObject({ status: 429, headers: { 'retry-after': '1', 'x-throttle': 'REJECTED' } });
    const b = await call('B');
    expect(b.status).toBe(200);
    expect(b.headers['x-throttle']).toBeUndefined();
    backend.release('A');
    const answers = await a.all;
    expect(answers.filter((r) => r.status === 200).every((r) => r.headers['x-throttle'] === 'PASSED')).toBe(true);
    const zone = (await getJson(url('/status/http/throttle_zones/tenants'))) as Record<string, number>;
    expect(zone).toMatchObject({ throttled: 1, triggers: 1 });
    expect(zone.rejected).toBeGreaterThanOrEqual(1);
  });

  it('releases A as RECOVERED once the backend is healed, and its traffic flows', async () => {
    backend.setDelay('A', 0);
    const load = traffic(url('/api/x'), ['A']);
    await until(() => stateOf('A'), (s) => s === 'RECOVERED', 'A recovered');
    await load.stop();
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => call('A')));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(audit().filter((l) => l.key === 'A').map((l) => l.to)).toEqual(['AUTO_THROTTLED', 'RECOVERED']);
    expect(await getJson(url('/status/http/throttle_zones/tenants'))).toMatchObject({ throttled: 0, recoveries: 1 });
    const metrics = (await request(url('/metrics'))).body;
    expect(metrics).toContain('angie_http_throttle_zones_throttled{zone="tenants"} 0\n');
    expect(metrics).toContain('angie_http_throttle_zones_events{zone="tenants",event="triggers"} 1\n');
    expect(metrics).toContain('angie_http_throttle_zones_events{zone="tenants",event="recoveries"} 1\n');
    expect(metrics).toMatch(/angie_http_throttle_zones_events\{zone="tenants",event="rejected"\} [1-9]/);
    expect(metrics).toContain('angie_http_throttle_zones_time_to_recover_seconds_count{zone="tenants"} 1\n');
  });

  it('PATCH sets a manual throttle; the same PATCH again changes nothing (one audit line); If-Match guards it', async () => {
    const body = { max_concurrency: 1, ttl_seconds: 300, reason: 'abuse ticket 42' };
    const first = await api(url('/throttle/C'), 'PATCH', body);
    const second = await api(url('/throttle/C'), 'PATCH', body);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ status: 'success', data: { key: 'C', state: 'MANUAL_THROTTLED', source: 'manual', max_concurrency: 1, rate: null, reason: 'abuse ticket 42', triggers: 1 } });
    expect(second.json).toEqual(first.json);
    expect(audit().filter((l) => l.key === 'C')).toMatchObject([{ to: 'MANUAL_THROTTLED', source: 'manual', actor: '127.0.0.1' }]);
    const version = (first.json.data as { version: number }).version;
    const stale = await api(url('/throttle/C'), 'PATCH', { ...body, max_concurrency: 2 }, { 'if-match': String(version + 1) });
    expect(stale.status).toBe(412);
    expect(stale.json).toMatchObject({ status: 'error', errorType: 'precondition_failed' });
    expect(await api(url('/throttle/C'))).toMatchObject({ json: { data: { max_concurrency: 1, version } } });
  });

  it('answers bad input with the Prometheus API error envelope and changes nothing', async () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['PATCH', '/throttle/D', '{not json', 400],
      ['PATCH', '/throttle/D', { max_concurrency: -1 }, 400],
      ['PATCH', '/throttle/D', { max_concurrency: 1, colour: 'red' }, 400],
      ['PATCH', '/throttle/D', { max_concurrency: 1, rate: 2 }, 400],
      ['GET', '/throttle/D', undefined, 404],
      ['PUT', '/throttle/D', { max_concurrency: 1 }, 405],
      ['PATCH', '/throttle/', { max_concurrency: 1 }, 405],
    ];
    for (const [method, p, body, status] of cases) {
      const reply = await api(url(p), method, body);
      expect([method, p, reply.status]).toEqual([method, p, status]);
      expect(reply.json).toMatchObject({ status: 'error', errorType: status === 400 ? 'bad_data' : expect.any(String), error: expect.any(String) });
    }
    expect(audit().filter((l) => l.key === 'D')).toEqual([]);
    // Releasing a key with no throttle is a 200 that changes nothing.
    expect(await api(url('/throttle/Z'), 'DELETE')).toMatchObject({ status: 200, json: { status: 'success', data: null } });
  });

  it('a throttle ends at its TTL: requests pass from then on, and the sampler records EXPIRED', async () => {
    backend.hold('T');
    await api(url('/throttle/T'), 'PATCH', { max_concurrency: 1, ttl_seconds: 2 });
    const during = concurrent('T', 3);
    await until(async () => ({ held: backend.held(), done: during.done.length }), (st) => st.held === 1 && st.done === 2, '1 held, 2 refused');
    backend.release('T');
    await during.all;
    await until(() => stateOf('T'), (st) => st === 'EXPIRED', 'T expired');
    backend.hold('T');
    const after = concurrent('T', 3);
    await until(async () => backend.held(), (n) => n === 3, 'all 3 admitted');
    backend.release('T');
    expect((await after.all).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('DELETE releases at once on both workers', async () => {
    backend.hold('C');
    const before = concurrent('C', 6);
    await until(async () => ({ held: backend.held(), done: before.done.length }), (s) => s.held === 1 && s.done === 5, '1 held, 5 refused');
    expect(before.done.every((r) => r.status === 429)).toBe(true);
    backend.release('C');
    await before.all;
    expect(await api(url('/throttle/C'), 'DELETE')).toMatchObject({ status: 200, json: { data: { state: 'RELEASED' } } });
    backend.hold('C');
    const after = concurrent('C', 6);
    await until(async () => backend.held(), (n) => n === 6, 'all 6 admitted');
    backend.release('C');
    expect((await after.all).every((r) => r.status === 200 && r.headers['x-throttle'] === undefined)).toBe(true);
    expect(audit().filter((l) => l.key === 'C').map((l) => l.to)).toEqual(['MANUAL_THROTTLED', 'RELEASED']);
  });

  it('reopens the audit log on -s reopen', async () => {
    const file = path.join(proxy.prefix, 'logs/throttle.jsonl');
    fs.renameSync(file, `${file}.1`);
    const r = await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reopen']);
    expect(r.code).toBe(0);
    // Both workers reopen: whichever answers the PATCH writes the new file, the old one keeps its lines.
    await until(async () => {
      await api(url('/throttle/F'), 'PATCH', { max_concurrency: 3, reason: `try ${Date.now()}` });
      return auditLines(file).length;
    }, (n) => n >= 2, 'two PATCHes in the new file');
    expect(auditLines(`${file}.1`).some((l) => l.key === 'F')).toBe(false);
  });

  it('a restart keeps an active throttle and its expiry', async () => {
    const set = await api(url('/throttle/E'), 'PATCH', { rate: 1, ttl_seconds: 600 });
    await proxy.stop();
    proxy = await startProxy(config(ports[0], ports[1], backend.port), ports, { prefix: proxy.prefix });
    expect((await api(url('/throttle/E'))).json.data).toEqual(set.json.data);
    const answers = await Promise.all([1, 2, 3].map(() => call('E')));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 429, 429]);
    expect(answers.find((r) => r.status === 429)?.headers['retry-after']).toBe('1');
  });
});
