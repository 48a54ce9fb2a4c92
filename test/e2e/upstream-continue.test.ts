import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * An upstream that sends an informational response nobody asked for before its
 * real one (RFC 9110 §15.2: parse it, ignore it): the client gets the real
 * response, the metrics and the log see its status, and the upstream
 * connection stays usable for the next request.
 */

let proxy: Proxy;
let port: number;
let upstream: net.Server;
/** Upstream connections accepted, to see keep-alive reuse. */
let accepted = 0;

/** Answers each request on a connection with `informational` first, then 200 with its count on that connection. */
function startUpstream(upPort: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    accepted++;
    let served = 0;
    let pending = '';
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      while (pending.includes('\r\n\r\n')) {
        const head = pending.slice(0, pending.indexOf('\r\n\r\n'));
        pending = pending.slice(head.length + 4);
        const informational = /^x-informational: (.*)$/im.exec(head)?.[1] ?? '100 Continue';
        const body = `answer ${++served}\n`;
        socket.write(`HTTP/1.1 ${informational}\r\n\r\n`);
        setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Up: real\r\n\r\n${body}`), 20);
      }
    });
  });
  return new Promise((resolve) => server.listen(upPort, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  const [listen, upPort] = await freePorts(2);
  port = listen;
  upstream = await startUpstream(upPort);
  proxy = await startProxy(
    `worker_processes 1;
http {
  log_format line '"$request" $status $upstream_status';
  access_log logs/access.log line;
  metric_zone statuses:1m count;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upPort};
      metric statuses $upstream_status on=end;
    }
    location /status/ { api /status/; }
  }
}`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  upstream?.close();
});

async function get(p: string, informational?: string): Promise<{ status: number; body: string; up: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers: informational ? { 'x-informational': informational } : {} });
  return { status: res.status, body: await res.text(), up: res.headers.get('x-up') };
}

it('skips an unasked 100 Continue: the real response reaches the client, on a connection kept for the next request', async () => {
  expect(await get('/a')).toEqual({ status: 200, body: 'answer 1\n', up: 'real' });
  expect(await get('/b')).toEqual({ status: 200, body: 'answer 2\n', up: 'real' });
  expect(await get('/c', '103 Early Hints')).toEqual({ status: 200, body: 'answer 3\n', up: 'real' });
  expect(accepted).toBe(1);
  const log = path.join(proxy.prefix, 'logs/access.log');
  const lines = await waitFor(() => {
    const all = fs.readFileSync(log, 'utf8').trim().split('\n');
    return all.length >= 3 ? all : undefined;
  }, 10_000, 'three access log lines');
  expect(lines).toEqual(['"GET /a HTTP/1.1" 200 200', '"GET /b HTTP/1.1" 200 200', '"GET /c HTTP/1.1" 200 200']);
  const zone = (await getJson(`http://127.0.0.1:${port}/status/http/metric_zones/statuses/`)) as { metrics: Record<string, number> };
  expect(zone.metrics).toEqual({ '200': 3 });
});
