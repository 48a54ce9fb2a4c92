import * as http from 'node:http';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachWebSocketEcho, Backend } from '../helpers/backends';
import { accessLog, freePorts, logLine, Proxy, request, startBackend, startProxy } from '../helpers/proc';
import { childPids, memoryMiB, waitFor } from '../helpers/sys';

/** A backend answering with its name, plus what it saw, and counting its TCP connections. */
async function namedBackend(name: string): Promise<Backend & { connections: () => number }> {
  let connections = 0;
  const b = await startBackend((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      res.setHeader('x-backend', name);
      res.setHeader('server', 'backend-server');
      res.end(JSON.stringify({ name, url: req.url, headers: req.headers, bytes }));
    });
  });
  b.server.on('connection', () => connections++);
  return { ...b, connections: () => connections };
}

let proxy: Proxy;
let port: number;
let deadPort: number;
let a: Awaited<ReturnType<typeof namedBackend>>;
let b: Awaited<ReturnType<typeof namedBackend>>;
let fails500: Backend;
let resets: Backend;
let slow: Backend;
let sink: Backend;
let stream: Backend & { closedEarly: () => number };
let ws: Backend;

const url = (p: string) => `http://127.0.0.1:${port}${p}`;
const upstreamInfo = (headers: http.IncomingHttpHeaders) => headers['x-up'];

beforeAll(async () => {
  [port, deadPort] = await freePorts(2);
  a = await namedBackend('a');
  b = await namedBackend('b');
  fails500 = await startBackend((_req, res) => {
    res.statusCode = 500;
    res.end('broken');
  });
  resets = await startBackend((req) => req.socket.destroy());
  slow = await startBackend((_req, res) => void setTimeout(() => res.end('late'), 2000));
  sink = await startBackend((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.end(String(bytes)));
  });
  let closedEarly = 0;
  const streamBackend = await startBackend((_req, res) => {
    res.writeHead(200);
    res.flushHeaders();
    const chunk = Buffer.alloc(64 * 1024, 120);
    // The first bytes come late, as from an event stream; then a steady flow.
    let flow: NodeJS.Timeout | undefined;
    const first = setTimeout(() => (flow = setInterval(() => res.write(chunk), 5)), 500);
    res.on('close', () => {
      clearTimeout(first);
      clearInterval(flow);
      if (!res.writableFinished) closedEarly++;
    });
  });
  stream = { ...streamBackend, closedEarly: () => closedEarly };
  ws = await startBackend((_req, res) => res.end('not a websocket request'));
  attachWebSocketEcho(ws.server, { decline: '/decline' });

  proxy = await startProxy(
    `
worker_processes 1;
events { }
http {
  ${accessLog('up', '$request_uri $status $upstream_addr|$upstream_status|$upstream_bytes_received')}
  add_header X-Up "$upstream_addr|$upstream_status" always;
  upstream weighted { server 127.0.0.1:${a.port} weight=3; server 127.0.0.1:${b.port}; }
  upstream failover { server 127.0.0.1:${deadPort}; server 127.0.0.1:${a.port}; }
  upstream failpost { server 127.0.0.1:${deadPort}; server 127.0.0.1:${b.port}; }
  upstream fivexx { server 127.0.0.1:${fails500.port}; server 127.0.0.1:${b.port}; }
  upstream resets { server 127.0.0.1:${resets.port} weight=100 max_fails=0; server 127.0.0.1:${b.port}; }
  upstream nolive { server 127.0.0.1:${a.port} down; }
  upstream backed { server 127.0.0.1:${deadPort}; server 127.0.0.1:${b.port} backup; }
  server {
    listen 127.0.0.1:${port};
    location /w/ { proxy_pass http://weighted; }
    location /failover { proxy_pass http://failover; }
    location /failpost { proxy_pass http://failpost; client_max_body_size 0; }
    location /five { proxy_pass http://fivexx; proxy_next_upstream error timeout http_500; }
    location /nolive { proxy_pass http://nolive; }
    location /reset { proxy_pass http://resets; }
    location /reset-ni { proxy_pass http://resets; proxy_next_upstream error timeout non_idempotent; }
    location /backup { proxy_pass http://backed; }
    location /refused { proxy_pass http://127.0.0.1:${deadPort}; }
    location /slow { proxy_pass http://127.0.0.1:${slow.port}; proxy_read_timeout 300ms; }
    location /prefix/ {
      proxy_pass http://127.0.0.1:${a.port}/replaced/;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Drop "";
    }
    location /keep { proxy_pass http://127.0.0.1:${b.port}; }
    location /upload { proxy_pass http://127.0.0.1:${sink.port}; client_max_body_size 0; }
    location /stream { proxy_pass http://127.0.0.1:${stream.port}; }
    location /ws/ { proxy_pass http://127.0.0.1:${ws.port}/; }
  }
}
`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  for (const backend of [a, b, fails500, resets, slow, sink, stream, ws]) await backend?.close();
});

describe('proxy_pass', () => {
  it('answers 502 when the peer refuses the connection', async () => {
    const r = await request(url('/refused'));
    expect(r.status).toBe(502);
    expect(upstreamInfo(r.headers)).toBe(`127.0.0.1:${deadPort}|502`);
  });

  it('answers 504 when the peer does not answer within proxy_read_timeout', async () => {
    const started = Date.now();
    const r = await request(url('/slow'));
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(upstreamInfo(r.headers)).toBe(`127.0.0.1:${slow.port}|504`);
  });

  it('tries the next peer after a refused connection, then skips the failed peer (max_fails=1)', async () => {
    const r = await request(url('/failover'));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).name).toBe('a');
    expect(upstreamInfo(r.headers)).toBe(`127.0.0.1:${deadPort}, 127.0.0.1:${a.port}|502, 200`);
    for (let i = 0; i < 3; i++) expect(upstreamInfo((await request(url('/failover'))).headers)).toBe(`127.0.0.1:${a.port}|200`);
  });

  it('retries a POST whose connection was refused, body intact (it was never sent)', async () => {
    const r = await request(url('/failpost'), { method: 'POST', body: 'x'.repeat(10_000) });
    expect(JSON.parse(r.body)).toMatchObject({ name: 'b', bytes: 10_000 });
    expect(upstreamInfo(r.headers)).toBe(`127.0.0.1:${deadPort}, 127.0.0.1:${b.port}|502, 200`);
  });

  it('moves on after a 500 when proxy_next_upstream names http_500', async () => {
    const r = await request(url('/five'));
    expect(r.status).toBe(200);
    expect(upstreamInfo(r.headers)).toBe(`127.0.0.1:${fails500.port}, 127.0.0.1:${b.port}|500, 200`);
  });

  it('retries a request reset after it was sent only when it is idempotent (or non_idempotent is set)', async () => {
    const both = `127.0.0.1:${resets.port}, 127.0.0.1:${b.port}|502, 200`;
    expect(upstreamInfo((await request(url('/reset'))).headers)).toBe(both);
    const post = await request(url('/reset'), { method: 'POST' });
    expect(post.status).toBe(502);
    expect(upstreamInfo(post.headers)).toBe(`127.0.0.1:${resets.port}|502`);
    expect(upstreamInfo((await request(url('/reset-ni'), { method: 'POST' })).headers)).toBe(both);
  });

  it('answers 502 with the upstream name when no peer is live', async () => {
    const r = await request(url('/nolive'));
    expect(r.status).toBe(502);
    expect(upstreamInfo(r.headers)).toBe('nolive|502');
  });

  it('falls back to the backup peer', async () => {
    const r = await request(url('/backup'));
    expect(JSON.parse(r.body).name).toBe('b');
  });

  it('distributes by weight in nginx smooth round-robin order', async () => {
    const names: string[] = [];
    for (let i = 0; i < 8; i++) names.push((await request(url('/w/'))).headers['x-backend'] as string);
    expect(names.join('')).toBe('aabaaaba');
  });

  it('replaces the location prefix, sets and removes headers, hides the upstream Server', async () => {
    const r = await request(url('/prefix/a%20b?x=1'), { headers: { 'X-Drop': 'secret', 'X-Forwarded-For': '10.0.0.1' } });
    const seen = JSON.parse(r.body);
    expect(seen.url).toBe('/replaced/a%20b?x=1');
    expect(seen.headers.host).toBe(`127.0.0.1:${a.port}`);
    expect(seen.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(seen.headers['x-drop']).toBeUndefined();
    expect(r.headers.server).toBeUndefined();
    expect(r.headers['x-backend']).toBe('a');
  });

  it('reuses one upstream connection for sequential requests (keep-alive)', async () => {
    const before = b.connections();
    for (let i = 0; i < 5; i++) expect((await request(url('/keep'))).status).toBe(200);
    expect(b.connections() - before).toBe(1);
  });

  it('streams a 200 MB upload with flat memory', async () => {
    const worker = childPids(proxy.child.pid!)[0];
    const rssBefore = memoryMiB(worker, 'VmRSS');
    const total = 200 * 1024 * 1024;
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.request(url('/upload'), { method: 'POST', headers: { 'content-length': total }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 97);
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(Number(received)).toBe(total);
    expect(memoryMiB(worker, 'VmHWM') - rssBefore).toBeLessThan(100);
  });

  it('sends the response head at once when the body comes later', async () => {
    const started = Date.now();
    const headAfterMs = await new Promise<number>((resolve, reject) => {
      const req = http.get(url('/stream'), { agent: false }, (res) => {
        resolve(Date.now() - started);
        req.destroy();
      });
      req.on('error', reject);
    });
    expect(headAfterMs).toBeLessThan(200);
  });

  it('aborts the upstream request when the client goes away mid-response', async () => {
    const before = stream.closedEarly();
    await new Promise<void>((resolve) => {
      const req = http.get(url('/stream'), { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > 1_000_000) req.destroy();
        });
      });
      req.on('close', () => resolve());
      req.on('error', () => undefined);
    });
    await waitFor(() => (stream.closedEarly() > before ? true : undefined), 3000);
  });
});

describe('WebSocket', () => {
  it('echoes through the tunnel, and the request is logged as 101 when it closes', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/echo`);
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.onopen = () => socket.send('hello through the proxy');
      socket.onmessage = (e) => resolve(String(e.data));
      socket.onerror = () => reject(new Error('websocket failed'));
    });
    expect(echoed).toBe('hello through the proxy');
    socket.close();
    const line = await logLine(proxy, 'up', '/ws/echo');
    expect(line).toMatch(new RegExp(`^/ws/echo 101 127\\.0\\.0\\.1:${ws.port}\\|101\\|\\d+$`));
  });

  it('relays the answer of an upstream that does not switch protocols', async () => {
    const r = await request(url('/ws/decline'), { headers: { Upgrade: 'websocket', Connection: 'Upgrade' } });
    expect(r.status).toBe(426);
    expect(r.body).toBe('no switch');
    expect(upstreamInfo(r.headers)).toBe(`127.0.0.1:${ws.port}|426`);
  });
});
