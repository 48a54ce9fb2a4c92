import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, ROOT, startOnFreePort } from '../helpers/proc';
import { burst, countBy, hit, holdingBackend } from './limit-helpers';
import { until } from './status-helpers';

interface ConnCounters {
  passed: number;
  skipped: number;
  rejected: number;
  exhausted: number;
}

const config = (port: number, backend: number, dead: number) => `
worker_processes 2;
http {
    access_log off;
    limit_conn_zone $arg_k zone=one:1m;
    limit_conn_zone $arg_k zone=dry:1m;
    server {
        listen 127.0.0.1:${port};
        add_header X-Limit $limit_conn_status always;
        add_header X-Worker $pid always;
        location /hold { limit_conn one 1; proxy_pass http://127.0.0.1:${backend}; }
        location /dead { limit_conn one 1; proxy_pass http://127.0.0.1:${dead}; }
        location /dry { limit_conn dry 1; limit_conn_dry_run on; proxy_pass http://127.0.0.1:${backend}; }
        location /status/ { api /status/; }
        location = /metrics { prometheus all; }
    }
    include ${path.join(ROOT, 'conf/prometheus_all.conf')};
}`;

let proxy: Proxy;
let backend: Awaited<ReturnType<typeof holdingBackend>>;
let port: number;
const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const counters = (zone: string) => getJson(url(`/status/http/limit_conns/${zone}`)) as Promise<ConnCounters>;

beforeAll(async () => {
  backend = await holdingBackend();
  const [dead] = await freePorts(1);
  ({ proxy, port } = await startOnFreePort((p) => config(p, backend.port, dead)));
});

afterAll(async () => {
  backend?.release();
  await proxy?.stop();
  await backend?.close();
});

/** Polls until the backend holds `n` requests. */
const holding = (n: number) => until(async () => backend.holding(), (h) => h === n, `backend holding ${n}`);

describe('limit_conn across two workers', () => {
  it('limit_conn 1 with 20 concurrent slow requests admits exactly one, whichever worker takes them', async () => {
    const all = burst(url('/hold?k=a'), 20);
    await holding(1);
    await until(async () => (await counters('one')).rejected, (n) => n === 19, '19 rejections');
    expect(backend.holding()).toBe(1);
    backend.release();
    const hits = await all;
    expect(countBy(hits, (h) => `${h.status} ${h.limit}`)).toEqual({ '200 PASSED': 1, '503 REJECTED': 19 });
    expect(new Set(hits.map((h) => h.worker)).size).toBe(2);
    expect(backend.maxHeld()).toBe(1);
    await until(() => counters('one'), (c) => c.passed === 1 && c.rejected === 19 && c.exhausted === 0, 'counters');
  });

  it('frees the slot when the client aborts', async () => {
    const req = http.get(url('/hold?k=b'), { agent: false });
    req.on('error', () => undefined);
    await holding(1);
    expect((await hit(url('/hold?k=b&fast'))).status).toBe(503);
    req.destroy();
    await until(() => hit(url('/hold?k=b&fast')), (h) => h.status === 200, 'the slot freed after the abort');
  });

  it('frees the slot when the upstream fails', async () => {
    for (let i = 0; i < 3; i++) expect((await hit(url('/dead?k=c'))).status).toBe(502);
  });

  it('dry run admits everyone and only marks the variable and counters', async () => {
    const all = burst(url('/dry?k=d'), 3);
    await holding(3);
    backend.release();
    const hits = await all;
    expect(countBy(hits, (h) => `${h.status} ${h.limit}`)).toEqual({ '200 PASSED': 1, '200 REJECTED_DRY_RUN': 2 });
    await until(() => counters('dry'), (c) => c.passed === 1 && c.rejected === 2, 'dry counters');
    const metrics = (await request(url('/metrics'))).body;
    expect(metrics).toContain('angie_http_limit_conns{zone="dry",status="rejected"} 2');
  });
});
