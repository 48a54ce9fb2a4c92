import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterRequestHead, attachWebSocketEcho, TcpBackend, tcpBackend } from '../helpers/backends';
import { accessLog, freePorts, logLine, Proxy, request, startBackend, startProxy } from '../helpers/proc';
import { connect, rawExchange } from '../helpers/raw';
import { waitFor } from '../helpers/sys';

/**
 * What an operator reads (issue 10 item 8): upstream failures in the error
 * log with nginx's wording and context, $remote_addr in the access log
 * for aborted and upgraded requests, and an add_header value that cannot
 * be sent dropped alone and logged.
 */

let proxy: Proxy;
let port: number;
let deadPort: number;
let hostile: TcpBackend;
let ws: Awaited<ReturnType<typeof startBackend>>;
const tunnels = new Set<import('node:net').Socket>();

/** What the hostile upstream does, by request path. */
const BEHAVIOUR: Record<string, (s: import('node:net').Socket) => void> = {
  '/reset': (s) => s.resetAndDestroy(),
  '/invalid': (s) => s.end('HTTP/1.1 200 OK\r\nBad Header\r\n\r\n'),
  '/garbage': (s) => s.end('garbage\r\n\r\n'),
  '/close': (s) => s.end(),
  '/slow': () => undefined,
  '/midbody': (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab');
    setTimeout(() => s.resetAndDestroy(), 50);
  },
};

beforeAll(async () => {
  hostile = await tcpBackend((socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => (head += d.toString('latin1')));
    afterRequestHead(socket, () => BEHAVIOUR[head.split(' ')[1]]?.(socket));
  });
  ws = await startBackend((_req, res) => res.end('plain'));
  attachWebSocketEcho(ws.server, { onTunnel: (s) => tunnels.add(s) });
  [port, deadPort] = await freePorts(2);
  proxy = await startProxy(
    `
error_log logs/error.log;
http {
  ${accessLog('ops', '$request_uri $status $remote_addr')}
  server {
    listen 127.0.0.1:${port};
    server_name ops.test;
    proxy_read_timeout 300ms;
    location /refused { proxy_pass http://127.0.0.1:${deadPort}; }
    location /ws { proxy_pass http://127.0.0.1:${ws.port}; }
    location /header/ { add_header X-Uri $uri; add_header X-Safe yes; return 200 "ok"; }
    location / { proxy_pass http://127.0.0.1:${hostile.port}; }
  }
}`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  await hostile?.close();
  for (const s of tunnels) s.destroy(); // the backend's close() does not know upgraded sockets
  await ws?.close();
});

/** The error log's line mentioning `request: "GET <path> `, once written. */
function errorLine(p: string): Promise<string> {
  const file = path.join(proxy.prefix, 'logs/error.log');
  return waitFor(() => {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    return text.split('\n').find((l) => l.includes(`request: "GET ${p} HTTP/1.1"`));
  }, 10_000, `error log line for ${p}`);
}

const CONTEXT = (p: string, upstreamPort: () => number) =>
  `, client: 127.0.0.1, server: ops.test, request: "GET ${p} HTTP/1.1", upstream: "http://127.0.0.1:${upstreamPort()}${p}", host: "x"`;

describe('upstream errors are logged as nginx logs them', () => {
  it.each([
    ['/refused', 502, 'connect() failed (111: Connection refused) while connecting to upstream', () => deadPort],
    ['/reset', 502, 'recv() failed (104: Connection reset by peer) while reading response header from upstream', () => hostile.port],
    ['/invalid', 502, 'upstream sent invalid header while reading response header from upstream', () => hostile.port],
    ['/garbage', 502, 'upstream sent no valid HTTP/1.0 header while reading response header from upstream', () => hostile.port],
    ['/close', 502, 'upstream prematurely closed connection while reading response header from upstream', () => hostile.port],
    ['/slow', 504, 'upstream timed out (110: Connection timed out) while reading response header from upstream', () => hostile.port],
  ])('%s → %i and one [error] line', async (p, status, message, upstreamPort) => {
    expect((await request(`http://127.0.0.1:${port}${p}`, { headers: { Host: 'x' } })).status).toBe(status);
    const line = await errorLine(p);
    expect(line).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[error\] \d+#0: /);
    expect(line.slice(line.indexOf(': ') + 2)).toBe(`${message}${CONTEXT(p, upstreamPort)}`);
  });

  it('a reset in the middle of the body: the client connection is cut, the log says so', async () => {
    const reply = await rawExchange(port, 'GET /midbody HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(reply.statuses).toEqual([200]);
    expect(reply.closed).toBe(true);
    const line = await errorLine('/midbody');
    expect(line).toContain(`readv() failed (104: Connection reset by peer) while reading upstream${CONTEXT('/midbody', () => hostile.port)}`);
  });
});

describe('$remote_addr in the access log', () => {
  it('is the client address for a request the client aborted', async () => {
    const socket = await connect(port);
    socket.write('GET /slow?aborted HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => (hostile.open() > 0 ? true : undefined), 5000, 'request at the upstream');
    socket.destroy();
    expect(await logLine(proxy, 'ops', '/slow?aborted', 10_000)).toBe('/slow?aborted 499 127.0.0.1');
  });

  it('is the client address for an upgraded (WebSocket) request', async () => {
    const reply = await rawExchange(
      port,
      'GET /ws?tunnel HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      { until: (t) => t.includes('\r\n\r\n') },
    );
    expect(reply.statuses).toEqual([101]);
    expect(await logLine(proxy, 'ops', '/ws?tunnel', 10_000)).toBe('/ws?tunnel 101 127.0.0.1');
  });
});

describe('an add_header value that cannot be sent', () => {
  it('is left out alone, and the error log names it', async () => {
    const reply = await rawExchange(port, 'GET /header/a%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply.statuses).toEqual([200]);
    expect(reply.text).toMatch(/\r\nx-safe: yes\r\n/i);
    expect(reply.text).not.toMatch(/x-uri|set-cookie/i);
    const file = path.join(proxy.prefix, 'logs/error.log');
    const line = await waitFor(() => fs.readFileSync(file, 'utf8').split('\n').find((l) => l.includes('"X-Uri"') || l.includes('"x-uri"')), 5000, 'add_header log line');
    expect(line).toMatch(/\[error\] \d+#0: header "x-uri" left out: its value holds a control character, request: "GET \/header\/a%0d%0aSet-Cookie:%20x=1 HTTP\/1.1"$/i);
  });
});

