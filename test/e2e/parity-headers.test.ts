import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proxy, startOnFreePort } from '../helpers/proc';

// Issue 12 item 3: responses metricproxy generates carry header names as nginx writes them,
// and the prometheus location's Content-Type is Angie's (ngx_http_prometheus_module.c).

let proxy: Proxy;
let port: number;

/** The response's header lines as sent: [name as spelled on the wire, value]. */
function rawHead(path: string, method = 'GET'): Promise<{ status: number; headers: Array<[string, string]> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      res.resume();
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const names = async (path: string, method?: string) => (await rawHead(path, method)).headers.map(([n]) => n);

beforeAll(async () => {
  ({ proxy, port } = await startOnFreePort(
    (p) => `
http {
  metric_zone z:128k count;
  prometheus_template t { z_total $p8s_value path=/http/metric_zones/z/discarded; }
  server {
    listen 127.0.0.1:${p};
    location /api/ { api /status/; }
    location = /metrics { prometheus t; }
    location = /text { return 200 "hello"; }
    location = /moved { return 302 http://example.com/; }
    location = /gone { return 410; }
  }
}`,
  ));
});

afterAll(async () => proxy?.stop());

describe('header names of generated responses', () => {
  it('api: Content-Type, Content-Length, Expires, Cache-Control', async () => {
    const got = await names('/api/');
    for (const n of ['Content-Type', 'Content-Length', 'Expires', 'Cache-Control']) expect(got).toContain(n);
    expect(got.filter((n) => /^(content-|expires|cache-)/.test(n))).toEqual([]);
  });

  it('an api error answer (404 JSON)', async () => {
    const { status, headers } = await rawHead('/api/nothere');
    expect(status).toBe(404);
    expect(headers.map(([n]) => n)).toEqual(expect.arrayContaining(['Content-Type', 'Content-Length']));
  });

  it('prometheus: Content-Type is exactly "text/plain", as Angie sends it', async () => {
    const { headers } = await rawHead('/metrics');
    expect(headers).toContainEqual(['Content-Type', 'text/plain']);
    expect(headers.map(([n]) => n)).toEqual(expect.arrayContaining(['Content-Length', 'Expires', 'Cache-Control']));
  });

  it('return with text, a redirect (Location), an error page, a 405 from the api', async () => {
    expect(await names('/text')).toEqual(expect.arrayContaining(['Content-Type', 'Content-Length']));
    const moved = await rawHead('/moved');
    expect(moved.headers).toContainEqual(['Location', 'http://example.com/']);
    expect(await names('/gone')).toEqual(expect.arrayContaining(['Content-Type', 'Content-Length']));
    const post = await rawHead('/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.map(([n]) => n)).toContain('Content-Type');
  });

  it('no generated response carries a lower-case spelling of those names', async () => {
    for (const p of ['/api/', '/metrics', '/text', '/moved', '/gone']) {
      for (const n of await names(p)) expect(['content-type', 'content-length', 'expires', 'cache-control', 'location']).not.toContain(n);
    }
  });
});
