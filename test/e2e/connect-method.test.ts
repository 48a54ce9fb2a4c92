import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';
import { waitFor } from '../helpers/sys';

/**
 * CONNECT, which a reverse proxy does not serve: answered 400 with nginx's
 * error page, then closed — and, as in nginx, written to the access log and
 * counted in the server zone like any refused request.
 */

let proxy: Proxy;
let port: number;

beforeAll(async () => {
  [port] = await freePorts(1);
  proxy = await startProxy(
    `worker_processes 2;
http {
  log_format line '"$request" $status';
  access_log logs/access.log line;
  server {
    listen 127.0.0.1:${port};
    status_zone front;
    location / { return 200 ok; }
    location /status/ { api /status/; }
  }
}`,
    [port],
  );
});

afterAll(async () => proxy?.stop());

it('CONNECT: 400 with a page, logged and counted', async () => {
  const r = await rawExchange(port, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
  expect(r.statuses).toEqual([400]);
  expect(r.text).toMatch(/\r\nConnection: close\r\n[\s\S]*<center><h1>400 Bad Request<\/h1><\/center>/);
  const log = path.join(proxy.prefix, 'logs/access.log');
  const line = await waitFor(() => fs.readFileSync(log, 'utf8').split('\n').find((l) => l.startsWith('"CONNECT')), 10_000, 'the access log line');
  expect(line).toBe('"CONNECT example.test:443 HTTP/1.1" 400');
  const zone = await waitFor(async () => {
    const z = (await getJson(`http://127.0.0.1:${port}/status/http/server_zones/front/`)) as { responses: Record<string, number> };
    return z.responses['400'] === 1 ? z : undefined;
  }, 10_000, 'the 400 counted');
  expect(zone.responses['400']).toBe(1);
});
