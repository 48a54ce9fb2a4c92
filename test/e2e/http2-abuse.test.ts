import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from '../helpers/certs';
import { FRAME, h2Get, headersFrame, rawH2, RawFrame, rstStreamFrame, frame } from '../helpers/h2';
import { accessLog, Backend, freePorts, getJson, makePrefix, Proxy, startBackend, startProxy } from '../helpers/proc';
import { childPids, waitFor } from '../helpers/sys';

/**
 * Bad input on an h2 listener, two workers: garbage instead of a
 * ClientHello, a client breaking flow control, the rapid-reset pattern
 * (CVE-2023-44487: HEADERS + RST_STREAM, over and over) and a header list
 * over the limit. Each is refused, the workers keep serving others, and
 * each is counted in the server zone (ssl.failed; requests.discarded).
 */

let dir: string;
let proxy: Proxy;
let port: number;
let api: number;
let backend: Backend;
let workers: number[];

const FLOW_CONTROL_ERROR = 0x3;
const ENHANCE_YOUR_CALM = 0xb;

beforeAll(async () => {
  ({ prefix: dir } = makePrefix('events { }'));
  const cert = makeCert(dir, 'a', 'a.test');
  backend = await startBackend(() => undefined); // takes requests and never answers
  [port, api] = await freePorts(2);
  proxy = await startProxy(
    `worker_processes 2;
http {
  ${accessLog('abuse', '$server_protocol $uri $status')}
  server {
    listen 127.0.0.1:${port} ssl http2;
    server_name a.test;
    status_zone a;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    large_client_header_buffers 4 2k;
    location /r/ { return 200 ok; }
    location /hang/ { proxy_pass http://127.0.0.1:${backend.port}; }
  }
  server { listen 127.0.0.1:${api}; location /status/ { api /status/; } }
}`,
    [port, api],
  );
  workers = childPids(proxy.child.pid!).sort();
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

type Zone = { requests: { total: number; processing: number; discarded: number }; responses: Record<string, number>; ssl: { failed: number } };
const zoneA = async () => ((await getJson(`http://127.0.0.1:${api}/status/http/server_zones/`)) as Record<string, Zone>).a;

/** Zone a once nothing is in flight and two reads 300 ms apart agree (each worker publishes its counts a moment after a request ends). */
async function settledZoneA(): Promise<Zone> {
  let last = '';
  return waitFor(async () => {
    const z = await zoneA();
    const text = JSON.stringify(z);
    const settled = z.requests.processing === 0 && text === last;
    last = text;
    if (!settled) await new Promise((r) => setTimeout(r, 300));
    return settled ? z : undefined;
  }, 15_000, 'zone a settled');
}

/** The workers that started are the ones still serving, and a well-behaved h2 client gets its answer. */
async function othersServed(): Promise<void> {
  expect((await h2Get(port, 'a.test', '/r/other')).body).toBe('ok');
  expect(childPids(proxy.child.pid!).sort()).toEqual(workers);
}

const waitFrame = (frames: RawFrame[], match: (f: RawFrame) => boolean, what: string) => waitFor(() => frames.find(match), 10_000, what);

describe('HTTP/2 bad input', () => {
  it('garbage instead of a ClientHello: that connection closes, ssl.failed counts it', async () => {
    const before = await settledZoneA();
    const socket = net.connect(port, '127.0.0.1', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nnot TLS at all'));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.on('close', resolve));
    await waitFor(async () => ((await zoneA()).ssl.failed === before.ssl.failed + 1 ? true : undefined), 10_000, 'ssl.failed');
    await othersServed();
  });

  it('DATA past the flow-control window: FLOW_CONTROL_ERROR, the request is discarded (499), others served', async () => {
    const before = await settledZoneA();
    const c = await rawH2(port, 'a.test');
    c.socket.write(headersFrame(1, { method: 'POST', path: '/hang/upload', authority: 'a.test', endStream: false }));
    // 8 × 16 KiB with no WINDOW_UPDATE from the server: twice the initial 64 KiB window.
    c.socket.write(Buffer.concat(Array.from({ length: 8 }, () => frame(FRAME.DATA, 0, 1, Buffer.alloc(16_384)))));
    const refused = await waitFrame(c.frames, (f) => f.type === FRAME.RST_STREAM || f.type === FRAME.GOAWAY, 'RST_STREAM or GOAWAY');
    expect(refused.payload.readUInt32BE(refused.type === FRAME.GOAWAY ? 4 : 0)).toBe(FLOW_CONTROL_ERROR);
    c.socket.destroy();
    await waitFor(async () => ((await zoneA()).requests.discarded === before.requests.discarded + 1 ? true : undefined), 10_000, 'the discarded request');
    const log = fs.readFileSync(path.join(proxy.prefix, 'logs/abuse.log'), 'utf8');
    expect(log).toContain('HTTP/2.0 /hang/upload 499');
    await othersServed();
  });

  it('rapid reset (HEADERS + RST_STREAM × 2000): every stream that became a request is counted, none lost; others served', async () => {
    const before = await settledZoneA();
    const c = await rawH2(port, 'a.test');
    const flood: Buffer[] = [];
    for (let i = 0; i < 2000; i++) flood.push(headersFrame(1 + 2 * i, { path: `/r/flood`, authority: 'a.test' }), rstStreamFrame(1 + 2 * i));
    c.socket.write(Buffer.concat(flood));
    await othersServed();
    c.socket.destroy();
    await c.closed;
    // Each flood request either got its 200 out or was discarded: the zone's books balance.
    const after = await waitFor(async () => {
      const z = await zoneA();
      const total = z.requests.total - before.requests.total;
      const answered = (z.responses['200'] ?? 0) - (before.responses['200'] ?? 0);
      const discarded = z.requests.discarded - before.requests.discarded;
      return z.requests.processing === 0 && total > 1 && total === answered + discarded ? { total, discarded } : undefined;
    }, 15_000, 'the flood counted');
    expect(after.total).toBeLessThanOrEqual(2001);
    await othersServed();
  });

  it('a header list over large_client_header_buffers: the stream is refused (ENHANCE_YOUR_CALM) and counted, the session goes on', async () => {
    const before = await settledZoneA();
    const c = await rawH2(port, 'a.test');
    // Our SETTINGS ACK makes the server's limits apply (rawH2 acknowledges them as they come).
    await waitFrame(c.frames, (f) => f.type === FRAME.SETTINGS && f.flags === 0, 'the server SETTINGS');
    await waitFrame(c.frames, (f) => f.type === FRAME.SETTINGS && f.flags === 1, 'our SETTINGS acknowledged');
    const big = Array.from({ length: 60 }, (_, i): [string, string] => [`x-flood-${i}`, 'v'.repeat(200)]);
    c.socket.write(headersFrame(1, { path: '/r/big', authority: 'a.test', extra: big }));
    const rst = await waitFrame(c.frames, (f) => f.type === FRAME.RST_STREAM && f.streamId === 1, 'RST_STREAM of the flood');
    expect(rst.payload.readUInt32BE(0)).toBe(ENHANCE_YOUR_CALM);
    c.socket.write(headersFrame(3, { path: '/r/next', authority: 'a.test' }));
    await waitFrame(c.frames, (f) => f.type === FRAME.HEADERS && f.streamId === 3, 'the next stream answered');
    c.socket.destroy();
    await waitFor(async () => {
      const z = await zoneA();
      return z.requests.discarded === before.requests.discarded + 1 && z.requests.total === before.requests.total + 2 ? true : undefined;
    }, 10_000, 'the refused stream counted as a discarded request');
    await othersServed();
  });
});
