import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approx } from '../helpers/examples';
import { freePorts, getJson, Proxy, request, startProxy } from '../helpers/proc';

let proxy: Proxy;
let port: number;
const url = (p: string) => `http://127.0.0.1:${port}${p}`;

beforeAll(async () => {
  [port] = await freePorts(1);
  proxy = await startProxy(
    `worker_processes 2;
http {
  metric_zone keys:1m count;
  metric_zone values:1m gauge;
  metric_zone lasts:1m last;
  metric_zone small:32k count;
  metric_zone rolling:32k expire=on discard_key=old count;
  server {
    listen 127.0.0.1:${port};
    location /key { metric keys $http_x_key; return 204; }
    location /value { metric values $arg_k=$http_x_value; metric lasts $arg_k=$http_x_value; return 204; }
    location /small { metric small $arg_k; return 204; }
    location /rolling { metric rolling $arg_k; return 204; }
    location ~ ^/one/(.+)$ { api /status/http/metric_zones/keys/metrics/$1; }
    location /api/ { api /status/http/metric_zones/; }
  }
}`,
    [port],
  );
});

afterAll(async () => proxy?.stop());

/** Sends a raw header value (bytes as latin1), bypassing Node's client-side header checks. */
function sendKey(path: string, headerName: string, valueBytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.setHeader(headerName, valueBytes.toString('latin1'));
    req.end();
  });
}

type Zone = { discarded: number; metrics: Record<string, number> };
const zone = async (name: string) => (await getJson(url(`/api/${name}/`))) as Zone;

describe('keys with any bytes', () => {
  const keys = ['a"b', 'back\\slash', 'with/slash', 'ключ', '日本', 'x'.repeat(300), "it's {json}"];

  beforeAll(async () => {
    for (const k of keys) expect(await sendKey('/key', 'x-key', Buffer.from(k, 'utf8'))).toBe(204);
    await sendKey('/key', 'x-key', Buffer.from([0xff, 0xfe, 0x41])); // invalid UTF-8
  });

  it('the JSON stays valid and shows each key as UTF-8; 300 bytes are cut to 255 and shown with "..."', async () => {
    const z = await zone('keys');
    expect(z.metrics['a"b']).toBe(1);
    // A backslash is shown doubled, so that the \xHH escape stays unambiguous.
    expect(z.metrics['back\\\\slash']).toBe(1);
    for (const k of keys.slice(2, 5)) expect(z.metrics[k]).toBe(1);
    expect(z.metrics[`${'x'.repeat(255)}...`]).toBe(1);
    expect(z.metrics["it's {json}"]).toBe(1);
    expect(z.metrics['\\xFF\\xFEA']).toBe(1);
  });

  it('percent-encoded path segments reach keys holding "/" and non-ASCII bytes, and keys by their shown \\xHH name', async () => {
    expect(await getJson(url(`/api/keys/metrics/${encodeURIComponent('\\xFF\\xFEA')}`))).toBe(1);
    expect(await getJson(url(`/api/keys/metrics/${encodeURIComponent('back\\\\slash')}`))).toBe(1);
    expect(await getJson(url('/api/keys/metrics/with%2Fslash'))).toBe(1);
    expect(await getJson(url(`/api/keys/metrics/${encodeURIComponent('ключ')}`))).toBe(1);
    expect(await getJson(url(`/api/keys/metrics/${'x'.repeat(255)}...`))).toBe(1);
  });

  it('api PATH with a variable from a regex capture', async () => {
    expect(await getJson(url('/one/a%22b'))).toBe(1);
  });

  it('missing nodes → 404 PathNotFound, other methods → 405 MethodNotAllowed', async () => {
    const nf = await request(url('/api/keys/metrics/nope'));
    expect(nf.status).toBe(404);
    expect(JSON.parse(nf.body)).toEqual({
      error: 'PathNotFound',
      description: 'Requested API entity "/status/http/metric_zones/keys/metrics/nope" doesn\'t exist.',
    });
    const post = await request(url('/api/'), { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(JSON.parse(post.body).error).toBe('MethodNotAllowed');
    const head = await request(url('/api/'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });
});

describe('values as C strtod reads them', () => {
  it.each([
    ['huge', '1e999', null, null],
    ['nan', 'nan', null, null],
    ['dashes', '--5', 1, 1],
    ['hex', '0x10', 16, 16],
    ['prefix', '12abc', 12, 12],
    ['spaces', '  -2.5e1', -25, -25],
  ])('%s: %s', async (k, raw, gauge, last) => {
    expect(await sendKey(`/value?k=${k}`, 'x-value', Buffer.from(raw))).toBe(204);
    const values = await zone('values');
    const lasts = await zone('lasts');
    expect(values.metrics[k]).toBe(gauge);
    expect(lasts.metrics[k]).toBe(last);
  });
});

describe('a zone full of keys under load', () => {
  async function flood(path: string, n: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let i = 0;
    const client = async () => {
      while (i < n) {
        const k = `key-${String(i++).padStart(6, '0')}`;
        await new Promise<void>((resolve, reject) =>
          http.get({ host: '127.0.0.1', port, path: `${path}?k=${k}`, agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
        );
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
    agent.destroy();
  }

  it('expire=off: new keys are discarded and counted, no update is lost', async () => {
    await flood('/small', 1000);
    const z = await zone('small');
    const stored = Object.values(z.metrics).reduce((a, b) => a + b, 0);
    expect(stored + z.discarded).toBe(1000);
    expect(Object.keys(z.metrics).length).toBeGreaterThan(200);
    expect(Object.keys(z.metrics).length).toBeLessThan(250);
  });

  it('expire=on: least recently updated keys are evicted into the discard key', async () => {
    await flood('/rolling', 1000);
    const z = await zone('rolling');
    const live = Object.entries(z.metrics).filter(([k]) => k !== 'old');
    approx(z.metrics.old, z.discarded);
    expect(live.length + z.discarded).toBe(1000);
    expect(live.length).toBeGreaterThan(200);
  });
});
