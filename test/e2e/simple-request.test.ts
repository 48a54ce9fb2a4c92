import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startNginx, type RefNginx } from '../helpers/nginx-ref';
import { freePorts, Proxy, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';
import { waitFor } from '../helpers/sys';

/**
 * HTTP/0.9 simple requests (`GET /path` and a line end), beside the real
 * nginx: the same bytes back (the body alone, then close), a 400 page for
 * another method, and the same access-log line. A normal request on the
 * same listener is unchanged.
 */

let proxy: Proxy;
let nginx: RefNginx;
let port: number;
let nginxPort: number;

const LOG_FORMAT = `log_format simple '[$request] [$server_protocol] $status $request_length';`;
const LOCATIONS = (upstreamPort: number) => `
    location / { return 200 "hello\\n"; }
    location /up { proxy_pass http://127.0.0.1:${upstreamPort}; }`;
const UPSTREAM = (upstreamPort: number) => `server { listen 127.0.0.1:${upstreamPort}; access_log off; location / { return 200 "from upstream\\n"; } }`;

beforeAll(async () => {
  const [p, up, n, nUp] = await freePorts(4);
  [port, nginxPort] = [p, n];
  proxy = await startProxy(
    `worker_processes 2;
http {
  ${LOG_FORMAT}
  access_log logs/access.log simple;
  server { listen 127.0.0.1:${port}; ${LOCATIONS(up)} }
  ${UPSTREAM(up)}
}`,
    [port],
  );
  // nginx resolves the relative log path against its prefix.
  nginx = await startNginx(`${LOG_FORMAT}\n  server { listen 127.0.0.1:${nginxPort}; access_log access.log simple; ${LOCATIONS(nUp)} }\n  ${UPSTREAM(nUp)}`, nginxPort);
});

afterAll(async () => {
  await proxy?.stop();
  await nginx?.stop();
});

const CASES = ['GET /\r\n', 'GET /up\r\n', 'POST /\r\n', 'GET /?a=1\n'];

it('answers a simple request as nginx does: the body alone, then close', async () => {
  for (const bytes of CASES) {
    const ours = await rawExchange(port, bytes);
    const theirs = await rawExchange(nginxPort, bytes);
    expect(ours.closed, JSON.stringify(bytes)).toBe(true);
    expect(ours.text.replace('metricproxy', 'nginx/1.22.1'), JSON.stringify(bytes)).toBe(theirs.text);
  }
});

it('logs a simple request as nginx does, and leaves versioned requests alone', async () => {
  const normal = await rawExchange(port, 'GET / HTTP/1.0\r\n\r\n');
  expect(normal.statuses).toEqual([200]);
  const ours = path.join(proxy.prefix, 'logs/access.log');
  const theirs = path.join(nginx.prefix, 'access.log');
  const read = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n');
  // Each case went once to each server (first test), and one versioned request to us.
  const lines = await waitFor(() => (fs.existsSync(ours) && read(ours).length >= CASES.length + 1 ? read(ours) : undefined), 10_000, 'the access log lines');
  expect(lines.filter((l) => !l.includes('[HTTP/1.0]')).sort()).toEqual(read(theirs).sort());
  expect(lines).toContain('[GET / HTTP/1.0] [HTTP/1.0] 200 18');
});
