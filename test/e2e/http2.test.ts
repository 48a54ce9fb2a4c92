import * as fs from 'node:fs';
import * as https from 'node:https';
import type * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, makeSignedCert } from '../helpers/certs';
import { curl, h2Get, h2Request, h2Session, H2Reply } from '../helpers/h2';
import { accessLog, Backend, freePorts, getJson, makePrefix, Proxy, startBackend, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * HTTP/2 on TLS listeners beside HTTP/1.1 (ALPN), two workers: the same
 * requests over h1 and h2 give the same metric updates at every stage, the
 * same status-zone counts and the same access-log lines but for
 * $server_protocol; bodies stream both ways through proxy_pass; a reset
 * stream is an aborted request (499, counted at on=end); SNI, `http2 on`
 * per server, mTLS and the stream limits hold on h2 connections.
 */

let dir: string;
let proxy: Proxy;
let tlsPort: number;
let perServer: number;
let api: number;
let backend: Backend;
const seen: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
let client: { cert: string; key: string };
/** Upstream requests to /hang whose connection the proxy closed. */
let hangsCut = 0;

const LOG = '$server_protocol $request_method $uri $status $body_bytes_sent $remote_addr $ssl_server_name';

beforeAll(async () => {
  ({ prefix: dir } = makePrefix('events { }'));
  const a = makeCert(dir, 'a', 'a.test');
  const b = makeCert(dir, 'b', 'b.test');
  const ca = makeCert(dir, 'ca', 'Test CA');
  client = makeSignedCert(dir, 'client', '/CN=client one', ca);
  backend = await startBackend((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (req.url?.includes('/hang')) {
      res.on('close', () => hangsCut++); // never answers: the client gives up
      return;
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      // A streamed (unsized) answer for an upload, a sized one otherwise.
      if (bytes > 0) {
        res.write(`got ${bytes}\n`);
        setTimeout(() => res.end('x'.repeat(20_000)), 20);
      } else res.end(`upstream ${req.url}`);
    });
  });
  [tlsPort, perServer, api] = await freePorts(3);
  const tlsServer = (name: string, cert: { cert: string; key: string }, listen: string, extra = '') => `
  server {
    listen 127.0.0.1:${listen};
    server_name ${name}.test;
    status_zone ${name};
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    ${extra}
    metric on_request "$request_method $uri" on=request;
    metric on_response "$request_method $uri $status" on=response;
    metric on_end "$request_method $uri $status $request_completion $body_bytes_sent" on=end;
    metric request_time "$server_protocol $uri=$request_time" on=end;
    location = /pid { return 200 $pid; }
    location /r/ { return 200 "$server_name $server_protocol"; }
    location /up/ {
      status_zone up_${name};
      proxy_pass http://127.0.0.1:${backend.port};
      proxy_set_header X-Client-Host $host;
      client_max_body_size 0;
    }
  }`;
  proxy = await startProxy(
    `worker_processes 2;
http {
  metric_zone on_request:1m count;
  metric_zone on_response:1m count;
  metric_zone on_end:1m count;
  metric_zone request_time:1m max;
  ${accessLog('h2', LOG)}
  ${tlsServer('a', a, `${tlsPort} ssl http2`, 'http2_max_concurrent_streams 3; large_client_header_buffers 4 2k;')}
  ${tlsServer('b', b, `${tlsPort} ssl`)}
  ${tlsServer('c', a, `${perServer} ssl`, 'http2 on; keepalive_timeout 1s; client_header_timeout 2s;')}
  ${tlsServer('d', b, `${perServer} ssl`, `ssl_client_certificate ${ca.cert}; ssl_verify_client on;`)}
  ${tlsServer('e', b, `${perServer} ssl`, `http2 on; ssl_client_certificate ${ca.cert}; ssl_verify_client on;`)}
  server {
    listen 127.0.0.1:${api};
    location /status/ { api /status/; }
    location /metrics/ { api /status/http/metric_zones/; }
  }
}`,
    [tlsPort, perServer, api],
  );
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** One HTTPS/1.1 request (ALPN offers http/1.1 only), optionally with a body sent chunked. */
function h1(port: number, servername: string, p: string, opts: { method?: string; body?: Buffer[]; cert?: { cert: string; key: string } } = {}): Promise<H2Reply> {
  const creds = opts.cert === undefined ? {} : { cert: fs.readFileSync(opts.cert.cert), key: fs.readFileSync(opts.cert.key) };
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: p, method: opts.method ?? 'GET', servername, headers: { host: servername }, rejectUnauthorized: false, agent: false, ...creds }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as never, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    for (const c of opts.body ?? []) req.write(c);
    req.end();
  });
}

type Zone = { requests: { total: number; processing: number; discarded: number }; responses: Record<string, number>; data: { received: number; sent: number }; ssl?: { handshaked: number; failed: number } };
type Zones = { server_zones: Record<string, Zone>; location_zones: Record<string, Zone> };
/**
 * The zones once every worker's requests in them have ended and `ready`
 * holds (each worker publishes its counts a moment after a request ends).
 */
const zones = (ready: (z: Zones) => boolean = () => true) =>
  waitFor(async () => {
    const z = (await getJson(`http://127.0.0.1:${api}/status/http/`)) as Zones;
    return Object.values(z.server_zones).every((zone) => zone.requests.processing === 0) && ready(z) ? z : undefined;
  }, 10_000, 'the zones to count every request');
/** `ready` for zones that counted `n` more requests in server zone a and `up` more in location zone up_a than `z`. */
const counted = (z: Zones, n: number, up: number) => (now: Zones) =>
  now.server_zones.a.requests.total === z.server_zones.a.requests.total + n && (now.location_zones.up_a?.requests.total ?? 0) === (z.location_zones.up_a?.requests.total ?? 0) + up;
type Metrics = Record<string, { metrics: Record<string, number> }>;
const metrics = async () => (await getJson(`http://127.0.0.1:${api}/metrics/`)) as Metrics;

const UPLOAD = Array.from({ length: 10 }, (_, i) => Buffer.alloc(10_000, 97 + i));

/** The same four requests on either protocol: a return, a proxied GET, a streamed upload with a streamed answer, a 404. */
async function batch(proto: 'h1' | 'h2'): Promise<H2Reply[]> {
  if (proto === 'h1') {
    return [await h1(tlsPort, 'a.test', '/r/x'), await h1(tlsPort, 'a.test', '/up/get'), await h1(tlsPort, 'a.test', '/up/post', { method: 'POST', body: UPLOAD }), await h1(tlsPort, 'a.test', '/none')];
  }
  const s = await h2Session(tlsPort, 'a.test');
  const headers = { ':authority': 'a.test' };
  try {
    return [await h2Request(s, '/r/x', { headers }), await h2Request(s, '/up/get', { headers }), await h2Request(s, '/up/post', { method: 'POST', body: UPLOAD, headers }), await h2Request(s, '/none', { headers })];
  } finally {
    s.close();
  }
}

/** Bytes of the connection headers an HTTP/1.1 response carries and HTTP/2 has no place for. */
function connectionHeaderBytes(replies: H2Reply[]): number {
  let n = 0;
  for (const r of replies) {
    for (const name of ['Connection', 'Keep-Alive', 'Transfer-Encoding']) {
      const v = r.headers[name.toLowerCase()];
      if (v !== undefined) n += name.length + String(v).length + 4;
    }
  }
  return n;
}

const diff = (after: Zone, before: Zone | undefined) => ({
  total: after.requests.total - (before?.requests.total ?? 0),
  discarded: after.requests.discarded - (before?.requests.discarded ?? 0),
  received: after.data.received - (before?.data.received ?? 0),
  sent: after.data.sent - (before?.data.sent ?? 0),
});

describe('HTTP/1.1 and HTTP/2 on one TLS port', () => {
  it('the same requests give the same metrics, zone counts and log lines; $server_protocol says which', async () => {
    const z0 = await zones();
    const h1Replies = await batch('h1');
    const z1 = await zones(counted(z0, 4, 2));
    const h2Replies = await batch('h2');
    const z2 = await zones(counted(z1, 4, 2));
    expect(h2Replies.map((r) => [r.status, r.body.length])).toEqual(h1Replies.map((r) => [r.status, r.body.length]));
    expect(h2Replies[0].body).toBe('a.test HTTP/2.0');
    expect(h1Replies[0].body).toBe('a.test HTTP/1.1');
    expect(h2Replies[2].body.startsWith('got 100000\n')).toBe(true);
    // Every stage updated twice per key: once per protocol.
    const m = await waitFor(async () => {
      const all = await metrics();
      return all.on_end.metrics['GET /none 404 OK 152'] === 2 ? all : undefined;
    }, 10_000, 'on=end of both batches');
    for (const zone of ['on_request', 'on_response', 'on_end']) for (const v of Object.values(m[zone].metrics)) expect(v).toBe(2);
    expect(Object.keys(m.on_end.metrics)).toContain('POST /up/post 200 OK 20011');
    // The zones counted the same; the sent bytes differ by the connection headers h1 carries.
    for (const [kind, name] of [['server_zones', 'a'], ['location_zones', 'up_a']] as const) {
      const h1d = diff(z1[kind][name], z0[kind][name]);
      const h2d = diff(z2[kind][name], z1[kind][name]);
      // Received: the h1 client's `Connection: close` on each request and `Transfer-Encoding: chunked` on the upload.
      expect({ ...h2d, received: h2d.received + h2d.total * 'Connection: close\r\n'.length + 'Transfer-Encoding: chunked\r\n'.length, sent: 0 }).toEqual({ ...h1d, sent: 0 });
      if (kind === 'server_zones') expect(h1d.sent - h2d.sent).toBe(connectionHeaderBytes(h1Replies));
    }
    const lines = fs.readFileSync(path.join(proxy.prefix, 'logs/h2.log'), 'utf8').trim().split('\n').filter((l) => l.endsWith(' a.test'));
    const h1Lines = lines.filter((l) => l.startsWith('HTTP/1.1 ')).map((l) => l.slice(9));
    const h2Lines = lines.filter((l) => l.startsWith('HTTP/2.0 ')).map((l) => l.slice(9));
    expect(h2Lines.slice(-4)).toEqual(h1Lines.slice(-4));
    // Pseudo-headers never reach the upstream; :authority became Host ($host).
    expect(seen.every((r) => Object.keys(r.headers).every((n) => !n.startsWith(':')))).toBe(true);
    expect(seen.map((r) => r.headers['x-client-host'])).toEqual(['a.test', 'a.test', 'a.test', 'a.test']);
  });

  it('$request_time is timed the same on both protocols', async () => {
    const m = await metrics();
    const times = m.request_time.metrics;
    expect(times['HTTP/1.1 /up/post']).toBeGreaterThanOrEqual(0.02);
    expect(times['HTTP/2.0 /up/post']).toBeGreaterThanOrEqual(0.02);
    expect(times['HTTP/2.0 /up/post']).toBeLessThan(5);
  });

  it('curl --http2 speaks h2, curl --http1.1 on the same port h1', async () => {
    expect(await curl(['-w', ' %{http_version}', '--resolve', `a.test:${tlsPort}:127.0.0.1`, `https://a.test:${tlsPort}/r/curl`])).toBe('a.test HTTP/2.0 2');
    expect(await curl(['--http1.1', '-w', ' %{http_version}', '--resolve', `a.test:${tlsPort}:127.0.0.1`, `https://a.test:${tlsPort}/r/curl`])).toBe('a.test HTTP/1.1 1.1');
  });

  it('a stream the client resets is an aborted request: 499 in the log, counted at on=end, the upstream request cut', async () => {
    const before = (await zones()).server_zones.a;
    const s = await h2Session(tlsPort, 'a.test');
    const stream = s.request({ ':path': '/up/hang' });
    stream.on('error', () => undefined);
    await waitFor(() => (seen.some((r) => r.url === '/up/hang') ? true : undefined), 10_000, 'the request upstream');
    stream.close(0x8); // RST_STREAM CANCEL
    const key = 'GET /up/hang 499  0';
    await waitFor(async () => {
      const m = (await metrics()).on_end.metrics;
      return m[key] === 1 ? true : undefined;
    }, 10_000, `on=end of the reset stream: ${key}`);
    s.close();
    const after = (await zones((z) => z.server_zones.a.requests.discarded > before.requests.discarded)).server_zones.a;
    // The one request without a response in this zone (the snapshot may still lag earlier tests' totals).
    expect(diff(after, before).discarded).toBe(1);
    const log = fs.readFileSync(path.join(proxy.prefix, 'logs/h2.log'), 'utf8');
    expect(log).toContain('HTTP/2.0 GET /up/hang 499 0 127.0.0.1 a.test');
    await waitFor(() => (hangsCut === 1 ? true : undefined), 10_000, 'the upstream request cut');
  });

  it('a connection dropped mid-request: its streams are logged (499, with the connection\'s $remote_addr) and counted', async () => {
    const s = await h2Session(tlsPort, 'a.test');
    const stream = s.request({ ':path': '/up/hang-dropped', ':authority': 'a.test' });
    stream.on('error', () => undefined);
    await waitFor(() => (seen.some((r) => r.url === '/up/hang-dropped') ? true : undefined), 10_000, 'the request upstream');
    s.destroy(); // the TCP connection closes, no RST_STREAM first
    const key = 'GET /up/hang-dropped 499  0';
    await waitFor(async () => ((await metrics()).on_end.metrics[key] === 1 ? true : undefined), 10_000, `on=end of the dropped connection's stream: ${key}`);
    expect(fs.readFileSync(path.join(proxy.prefix, 'logs/h2.log'), 'utf8')).toContain('HTTP/2.0 GET /up/hang-dropped 499 0 127.0.0.1 a.test');
    await waitFor(() => (hangsCut === 2 ? true : undefined), 10_000, 'the upstream request cut');
  });
});

describe('TLS features on an h2 listener', () => {
  it('SNI picks the server and its certificate; ALPN offers h2 only for servers that enable it', async () => {
    const b = await h2Session(tlsPort, 'b.test');
    expect((b.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN).toBe('b.test');
    // `listen … http2` enables the whole address (nginx 1.22): b is served h2 too.
    expect((await h2Request(b, '/r/')).body).toBe('b.test HTTP/2.0');
    b.close();
    // `http2 on` is per server: c offers h2, d (same port) does not.
    expect((await h2Get(perServer, 'c.test', '/r/')).body).toBe('c.test HTTP/2.0');
    await expect(h2Session(perServer, 'd.test')).rejects.toThrow();
    expect((await h1(perServer, 'd.test', '/r/', { cert: client })).body).toBe('d.test HTTP/1.1');
    await waitFor(async () => {
      const z = (await zones()).server_zones;
      return z.b.ssl!.handshaked >= 1 && z.c.ssl!.handshaked >= 1 ? true : undefined;
    }, 10_000, 'handshakes counted in the zones of b and c');
  });

  it('mTLS on h2: a stream without a client certificate gets 400, one with a certificate the CA signed is served', async () => {
    expect((await h2Get(perServer, 'e.test', '/r/')).status).toBe(400);
    const withCert = await h2Session(perServer, 'e.test', { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) });
    expect(await h2Request(withCert, '/r/')).toMatchObject({ status: 200, body: 'e.test HTTP/2.0' });
    withCert.close();
    expect((await h1(perServer, 'd.test', '/r/')).status).toBe(400);
  });

  it('settings: http2_max_concurrent_streams and the header list size from large_client_header_buffers; idle sessions close after keepalive_timeout, silent ones after client_header_timeout', async () => {
    const a = await h2Session(tlsPort, 'a.test');
    expect(a.remoteSettings.maxConcurrentStreams).toBe(3);
    expect(a.remoteSettings.maxHeaderListSize).toBe(8192);
    // Five at once with a limit of 3: the client queues, every one is answered.
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => h2Request(a, `/up/c${i}`)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    a.close();
    const c = await h2Session(perServer, 'c.test');
    await h2Request(c, '/r/');
    const answered = Date.now();
    await new Promise<void>((resolve) => c.once('close', () => resolve()));
    expect(Date.now() - answered).toBeLessThan(10_000);
    const silent = await h2Session(perServer, 'c.test');
    const opened = Date.now();
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - opened).toBeLessThan(10_000);
  });
});
