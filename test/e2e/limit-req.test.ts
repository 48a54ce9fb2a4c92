import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backend, getJson, Proxy, request, ROOT, startBackend, startOnFreePort } from '../helpers/proc';
import { burst, countBy, hit, Hit, idealAccepted, paced } from './limit-helpers';
import { until } from './status-helpers';

interface ReqCounters {
  passed: number;
  skipped: number;
  delayed: number;
  rejected: number;
  exhausted: number;
}

/** Each test has its own zone, so they share one two-worker proxy without sharing buckets. */
const config = (port: number, backend: number) => `
worker_processes 2;
http {
    access_log off;
    limit_req_zone $arg_k zone=rate:1m rate=20r/s;
    limit_req_zone $arg_k zone=slow:1m rate=6r/m;
    limit_req_zone $arg_k zone=five:1m rate=5r/s;
    limit_req_zone $arg_k zone=dry:1m rate=6r/m;
    limit_req_zone $arg_k zone=outer:1m rate=6r/m;
    server {
        listen 127.0.0.1:${port};
        add_header X-Limit $limit_req_status always;
        add_header X-Worker $pid always;
        # The arrival time, taken before the limits run.
        set $arrived $msec;
        add_header X-Time $arrived always;
        limit_req_status 429;
        location /rate { limit_req zone=rate burst=20 nodelay; proxy_pass http://127.0.0.1:${backend}; }
        location /nodelay { limit_req zone=slow burst=4 nodelay; limit_req_status 503; proxy_pass http://127.0.0.1:${backend}; }
        location /delay { limit_req zone=five burst=4; proxy_pass http://127.0.0.1:${backend}; }
        location /partial { limit_req zone=five burst=5 delay=2; proxy_pass http://127.0.0.1:${backend}; }
        location /dry { limit_req zone=dry burst=1 nodelay; limit_req_dry_run on; proxy_pass http://127.0.0.1:${backend}; }
        location /dry-delay { limit_req zone=dry burst=3; limit_req_dry_run on; proxy_pass http://127.0.0.1:${backend}; }
        location /two { limit_req zone=outer burst=1 nodelay; limit_req zone=slow nodelay; proxy_pass http://127.0.0.1:${backend}; }
        location /free { proxy_pass http://127.0.0.1:${backend}; }
        location /status/ { api /status/; }
        location = /metrics { prometheus all; }
    }
    include ${path.join(ROOT, 'conf/prometheus_all.conf')};
}`;

let proxy: Proxy;
let backend: Backend;
let port: number;
const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const counters = (zone: string) => getJson(url(`/status/http/limit_reqs/${zone}`)) as Promise<ReqCounters>;

/** Polls the zone's counters (summed over both workers) until they equal `want`. */
async function countersReach(zone: string, want: Partial<ReqCounters>): Promise<void> {
  const matches = (c: ReqCounters) => Object.entries(want).every(([k, v]) => c[k as keyof ReqCounters] === v);
  await until(() => counters(zone), matches, `${zone} counters ${JSON.stringify(want)}`);
}

const statuses = (hits: Hit[]) => countBy(hits, (h) => String(h.status));
const limits = (hits: Hit[]) => countBy(hits, (h) => h.limit);

beforeAll(async () => {
  backend = await startBackend((_req, res) => res.end('ok'));
  ({ proxy, port } = await startOnFreePort((p) => config(p, backend.port)));
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

describe('limit_req across two workers', () => {
  it('lets a client at 3x the rate through at the configured rate (±5%) over 5 s, one bucket for both workers', async () => {
    const hits = await paced(url('/rate?k=client'), 60, 5);
    const accepted = hits.filter((h) => h.status === 200).length;
    const rejected = hits.filter((h) => h.status === 429).length;
    expect(accepted + rejected).toBe(hits.length);
    // What a 20 r/s bucket with burst 20 admits of these arrivals (the proxy's clock: a loaded machine
    // delivers the client's even pacing in clumps), give or take 5% of 20 r/s over 5 s.
    const arrivals = hits.map((h) => h.arrived);
    expect(Math.abs(accepted - idealAccepted(arrivals, 20, 20))).toBeLessThanOrEqual(0.05 * 20 * 5);
    // Two buckets (one per worker) would let nearly twice as many through.
    expect(accepted).toBeLessThanOrEqual(1 + 20 + 20 * ((Math.max(...arrivals) - Math.min(...arrivals)) / 1000) + 1);
    expect(new Set(hits.map((h) => h.worker)).size).toBe(2);
    await countersReach('rate', { passed: accepted, rejected, delayed: 0, skipped: 0, exhausted: 0 });
  });

  it('nodelay: the first request and the burst pass at once, the rest are rejected immediately', async () => {
    const hits = await burst(url('/nodelay?k=a'), 10);
    expect(statuses(hits)).toEqual({ 200: 5, 503: 5 });
    expect(limits(hits)).toEqual({ PASSED: 5, REJECTED: 5 });
    await countersReach('slow', { passed: 5, rejected: 5 });
  });

  it('without nodelay, requests within the burst wait their turn at the rate; beyond it they are rejected at once', async () => {
    const start = Date.now();
    const all = burst(url('/delay?k=d'), 6);
    // While four requests wait on timers, the workers serve others.
    const free = await hit(url('/free'));
    const hits = await all;
    expect(statuses(hits)).toEqual({ 200: 5, 429: 1 });
    expect(limits(hits)).toEqual({ PASSED: 1, DELAYED: 4, REJECTED: 1 });
    const served = hits.filter((h) => h.status === 200).map((h) => h.doneAt).sort((a, b) => a - b);
    // At 5 r/s the k-th request of the burst cannot finish before k * 200 ms (timers never fire early).
    served.forEach((doneAt, k) => expect(doneAt - start).toBeGreaterThanOrEqual(k * 200 - 10));
    const rejectedAt = hits.find((h) => h.status === 429)!.doneAt;
    expect(rejectedAt).toBeLessThan(served[served.length - 1]);
    expect(free.doneAt).toBeLessThan(served[served.length - 1]);
    await countersReach('five', { passed: 1, delayed: 4, rejected: 1 });
  });

  it('delay=2: the first three pass at once, the rest of the burst is delayed, beyond it rejected', async () => {
    const start = Date.now();
    const hits = await burst(url('/partial?k=p'), 7);
    expect(statuses(hits)).toEqual({ 200: 6, 429: 1 });
    expect(limits(hits)).toEqual({ PASSED: 3, DELAYED: 3, REJECTED: 1 });
    const delayed = hits.filter((h) => h.limit === 'DELAYED').map((h) => h.doneAt - start).sort((a, b) => a - b);
    delayed.forEach((ms, k) => expect(ms).toBeGreaterThanOrEqual((k + 1) * 200 - 10));
  });

  it('dry run changes nothing but the variable and the counters', async () => {
    const hits = await burst(url('/dry?k=x'), 5);
    expect(statuses(hits)).toEqual({ 200: 5 });
    expect(limits(hits)).toEqual({ PASSED: 2, REJECTED_DRY_RUN: 3 });
    const start = Date.now();
    const later = await burst(url('/dry-delay?k=y'), 4);
    expect(limits(later)).toEqual({ PASSED: 1, DELAYED_DRY_RUN: 3 });
    // At 6 r/m a real delay would be 10 s and more.
    for (const h of later) expect(h.doneAt - start).toBeLessThan(5000);
    await countersReach('dry', { passed: 3, delayed: 3, rejected: 3 });
    // The stock Prometheus template shows them under Angie's metric names.
    const metrics = (await request(url('/metrics'))).body;
    expect(metrics).toContain('angie_http_limit_reqs{zone="dry",status="passed"} 3');
    expect(metrics).toContain('angie_http_limit_reqs{zone="dry",status="rejected"} 3');
    expect(metrics).toContain('angie_http_limit_reqs{zone="dry",status="exhausted"} 0');
  });

  it('checks every limit of a location, and an empty key is not limited', async () => {
    const hits = await burst(url('/two?k=m'), 3);
    // zone=slow (no burst) admits one; zone=outer would have admitted two.
    expect(statuses(hits)).toEqual({ 200: 1, 429: 2 });
    const unkeyed = await burst(url('/nodelay'), 8);
    expect(statuses(unkeyed)).toEqual({ 200: 8 });
    expect(limits(unkeyed)).toEqual({ '-': 8 });
  });
});
