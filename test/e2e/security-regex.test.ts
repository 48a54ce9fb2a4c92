import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';

/**
 * Catastrophic regexes (issue 10 item 3): `(a+)+$` against 31 `a` and a
 * `b` backtracks 2^31 times on V8's default engine — 10 s of CPU per
 * request, and two such requests froze both workers. Every regex the
 * config compiles (locations, server names, Prometheus paths) now falls
 * back to V8's linear-time engine, so the same match result comes fast.
 */

const EVIL = 'a'.repeat(31) + 'b';
/** Generous for a loaded 2-core machine; the unbounded match takes 10 s and more. */
const FAST_MS = 3000;

let proxy: Proxy;
let port: number;

beforeAll(async () => {
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
worker_processes 2;
http {
  metric_zone evil:1m count;
  prometheus_template t { 'evil{key="$1"}' $p8s_value path=~^/http/metric_zones/evil/metrics/(a+)+$ type=counter; }
  server {
    listen 127.0.0.1:${port};
    server_name ~^(a+)+$;
    location / { return 200 "regex-server"; }
  }
  server {
    listen 127.0.0.1:${port} default_server;
    location ~ ^/redos/(a+)+$ { return 200 "matched"; }
    location /count/ { metric evil $arg_k; return 204; }
    location = /metrics { prometheus t; }
    location / { return 200 "plain"; }
  }
}`,
    [port],
  );
}, 30_000);

afterAll(async () => proxy?.stop());

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
}

describe('catastrophic regexes answer fast', () => {
  it('a location regex: four concurrent hostile URIs (two per worker) get the match result, and the workers still serve', async () => {
    const hostile = Array.from({ length: 4 }, () => timed(() => request(`http://127.0.0.1:${port}/redos/${EVIL}`)));
    const plain = timed(() => request(`http://127.0.0.1:${port}/other`));
    for (const r of await Promise.all(hostile)) {
      expect(r.value.status).toBe(200);
      expect(r.value.body).toBe('plain'); // no match: the next location serves it
      expect(r.ms).toBeLessThan(FAST_MS);
    }
    const p = await plain;
    expect(p.value.body).toBe('plain');
    expect(p.ms).toBeLessThan(FAST_MS);
    expect((await request(`http://127.0.0.1:${port}/redos/aaaa`)).body).toBe('matched');
  }, 60_000);

  it('a server_name regex against a hostile Host header', async () => {
    const r = await timed(() => request(`http://127.0.0.1:${port}/`, { headers: { Host: EVIL } }));
    expect(r.value.body).toBe('plain');
    expect(r.ms).toBeLessThan(FAST_MS);
    expect((await request(`http://127.0.0.1:${port}/`, { headers: { Host: 'aaaa' } })).body).toBe('regex-server');
  }, 30_000);

  it('a Prometheus template path regex against a hostile metric key', async () => {
    expect((await request(`http://127.0.0.1:${port}/count/?k=${EVIL}`)).status).toBe(204);
    expect((await request(`http://127.0.0.1:${port}/count/?k=aaa`)).status).toBe(204);
    const r = await timed(() => request(`http://127.0.0.1:${port}/metrics`));
    expect(r.value.status).toBe(200);
    expect(r.value.body).toContain('evil{key="aaa"} 1');
    expect(r.value.body).not.toContain(EVIL);
    expect(r.ms).toBeLessThan(FAST_MS);
  }, 30_000);
});

describe('regexes V8 cannot run in linear time', () => {
  it('load with a warning naming the regex and where it is (backreference, lookahead)', async () => {
    const { conf, prefix } = makePrefix(`
http {
  server {
    listen 127.0.0.1:1;
    location ~ ^/(a+)\\1$ { return 204; }
    location ~ ^/(?!static) { return 204; }
    location ~ ^/linear/(a+)+$ { return 204; }
  }
}`);
    const r = await runCli(['-p', prefix, '-c', conf, '-t']);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('[warn]'));
    expect(warnings).toEqual([
      `metricproxy: [warn] regex "^/(a+)\\1$" cannot run in linear time (backreference or lookaround): it has no time bound in ${conf}:5`,
      `metricproxy: [warn] regex "^/(?!static)" cannot run in linear time (backreference or lookaround): it has no time bound in ${conf}:6`,
    ]);
  });
});
