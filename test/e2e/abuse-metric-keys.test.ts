import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, Proxy, request, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';
import { keyText } from '../../src/api/key-text';
import { parseExposition } from '../unit/prometheus/helpers';

/**
 * Metric keys and values taken from what an attacker controls — the
 * decoded URI ($uri, so %0A is a real newline), raw query arguments
 * ($arg_), header values — with quotes, backslashes, control bytes,
 * invalid UTF-8 and 64 KB sizes. Neither the JSON API nor the Prometheus
 * exposition may break: both parse, and every key reads back the same in
 * both (bytes shown as UTF-8, bytes that are not UTF-8 as \xHH and a
 * backslash as \\, cut at 255 bytes with "..." appended).
 */

let proxy: Proxy;
let port: number;
const url = (p: string) => `http://127.0.0.1:${port}${p}`;

const ZONES = ['uri_keys', 'arg_keys', 'hdr_keys', 'values'] as const;

/** One template entry per zone, every key a label; `[\s\S]` so keys holding newlines match too. */
const TEMPLATE = ZONES.map((z) => `'${z}{key="$1"}' $p8s_value path=~^/http/metric_zones/${z}/metrics/([\\s\\S]+)$ type=gauge;`).join('\n    ');

beforeAll(async () => {
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
http {
  large_client_header_buffers 4 64k;
  ${ZONES.slice(0, 3).map((z) => `metric_zone ${z}:1m count;`).join('\n  ')}
  metric_zone values:1m last;
  prometheus_template keys {
    ${TEMPLATE}
  }
  server {
    listen 127.0.0.1:${port};
    location /k/ {
      metric uri_keys $uri;
      metric arg_keys $arg_k;
      metric hdr_keys $http_x_key;
      metric values $arg_k=$arg_v;
      return 204;
    }
    location /api/ { api /status/http/metric_zones/; }
    location = /metrics { prometheus keys; }
  }
}`,
    [port],
  );
});

afterAll(async () => proxy?.stop());

/** Sends one request with a raw header value (bytes as latin1), past Node's client-side checks. */
function hit(path: string, headerBytes?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)));
    req.on('error', reject);
    if (headerBytes !== undefined) req.setHeader('x-key', headerBytes.toString('latin1'));
    req.end();
  });
}

/** A key's stored bytes as the API and the exposition show them. */
function shown(bytes: Buffer): string {
  const cut = bytes.length > 255 ? bytes.subarray(0, 255) : bytes;
  return keyText(cut.toString('latin1')) + (bytes.length >= 255 ? '...' : '');
}

const pct = (bytes: Buffer) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** URI path bytes (after /k/), sent percent-encoded: $uri holds them decoded. */
const URI_KEYS: Buffer[] = [
  Buffer.from('line\nbreak\r\nand\ttab'),
  Buffer.from('"quoted" \\back\\slash\\ {"json":1}'),
  Buffer.from('label="x",other="y"} 1\n# TYPE evil counter'),
  Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0x41]), // invalid UTF-8
  Buffer.from('✓ ключ 日本'),
  Buffer.from([0x01, 0x1f, 0x7f, 0x42]),
  Buffer.alloc(64 * 1024, 0x61), // a 64 KB key
];

/** Raw query values: $arg_ is not decoded, as in nginx. */
const ARG_KEYS = ['a%0Ab', '"q"', 'back\\slash', '%FF%FE'];

/** Header values, raw bytes. */
const HEADER_KEYS: Buffer[] = [Buffer.from('h"e\\a{d}e=r'), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from([0xc3, 0xa9, 0x80, 0xff])];

beforeAll(async () => {
  for (const k of URI_KEYS) expect(await hit(`/k/${pct(k)}`)).toBe(204);
  for (const k of ARG_KEYS) expect(await hit(`/k/?k=${k}&v=1`)).toBe(204);
  for (const k of HEADER_KEYS) expect(await hit('/k/', k)).toBe(204);
  // A 64 KB value: cut to 255 bytes, then read as strtod reads it.
  expect(await hit(`/k/?k=big&v=${'9'.repeat(64 * 1024)}`)).toBe(204);
});

const uriShown = (k: Buffer) => shown(Buffer.concat([Buffer.from('/k/'), k]));

describe('attacker-controlled keys', () => {
  it('the JSON API parses and shows every key', async () => {
    const r = await request(url('/api/'));
    expect(r.status).toBe(200);
    const zones = JSON.parse(r.body) as Record<string, { metrics: Record<string, number> }>;
    for (const k of URI_KEYS) expect(zones.uri_keys.metrics[uriShown(k)]).toBe(1);
    // The argument and header requests (and the big value) all went to /k/ itself.
    expect(zones.uri_keys.metrics['/k/']).toBe(ARG_KEYS.length + HEADER_KEYS.length + 1);
    for (const k of [...ARG_KEYS, 'big']) expect(zones.arg_keys.metrics[keyText(k)]).toBe(1);
    for (const k of HEADER_KEYS) expect(zones.hdr_keys.metrics[shown(k)]).toBe(1);
    expect(zones.values.metrics.big).toBe(Number('9'.repeat(255)));
  });

  it('the Prometheus exposition parses, one sample per key, labels equal to the API keys', async () => {
    const r = await request(url('/metrics'));
    expect(r.status).toBe(200);
    const families = Object.fromEntries(parseExposition(r.body).map((f) => [f.name, f.metrics]));
    const labels = (zone: string) => (families[zone] ?? []).map((m) => m.labels?.key).sort();
    expect(labels('uri_keys')).toEqual([...URI_KEYS.map(uriShown), '/k/'].sort());
    expect(labels('arg_keys')).toEqual([...ARG_KEYS, 'big'].map(keyText).sort());
    expect(labels('hdr_keys')).toEqual(HEADER_KEYS.map(shown).sort());
    expect(families.values.find((m) => m.labels?.key === 'big')?.value).toBe('1e+255');
  });

  it('no key can start a line of its own in the exposition', async () => {
    const text = (await request(url('/metrics'))).body;
    for (const line of text.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^(# (Angie Prometheus template|HELP|TYPE) |[a-z_]+\{key=")/);
  });

  it('a NUL byte in the URI is refused (400), as nginx does', async () => {
    const reply = await rawExchange(port, 'GET /k/a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply.statuses).toEqual([400]);
  });
});
