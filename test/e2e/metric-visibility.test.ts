import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, startBackend, startProxy } from '../helpers/proc';

// A response — generated or proxied with a sized body — never reaches the client before its
// on=end updates are committed, so a read right after it, on either worker, always sees them.
let proxy: Proxy;
let backend: Awaited<ReturnType<typeof startBackend>>;
let port: number;

beforeAll(async () => {
  backend = await startBackend((_req, res) => res.end('sized body'));
  [port] = await freePorts(1);
  proxy = await startProxy(
    `worker_processes 2;
http {
  metric_zone seen:1m count;
  server {
    listen 127.0.0.1:${port};
    location /proxied { proxy_pass http://127.0.0.1:${backend.port}; metric seen proxied; }
    location /generated { return 200 "generated"; metric seen generated; }
    location /api/ { api /status/http/metric_zones/seen/metrics/; }
  }
}`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

it.each(['proxied', 'generated'])('%s: every answered request is visible to the next read', async (kind) => {
  for (let i = 1; i <= 150; i++) {
    const r = await request(`http://127.0.0.1:${port}/${kind}`);
    expect(r.status).toBe(200);
    expect(await getJson(`http://127.0.0.1:${port}/api/${kind}`)).toBe(i);
  }
});
