import * as fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, runCli, startBackend, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

let proxy: Proxy | undefined;
let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
afterAll(async () => {
  await proxy?.stop('SIGTERM');
  await backend?.close();
});

const conf = (port: number, backendPort: number, tag: string) => `
worker_processes 2;
http {
  metric_zone done:1m count;
  server {
    listen 127.0.0.1:${port};
    location /slow { proxy_pass http://127.0.0.1:${backendPort}; metric done $uri; }
    location /tag { return 200 "${tag}"; }
    location /status/ { api /status/; }
  }
}`;

it('a reload lets an in-flight upstream response complete, counts it, and bumps generation', async () => {
  let arrived = false;
  let release: () => void = () => undefined;
  backend = await startBackend((req, res) => {
    arrived = true;
    release = () => res.end('slow body');
  });
  const [port] = await freePorts(1);
  proxy = await startProxy(conf(port, backend.port, 'v1'), [port]);
  const before = (await getJson(`http://127.0.0.1:${port}/status/angie`)) as { generation: number; load_time: string };
  expect(before.generation).toBe(1);

  const slow = request(`http://127.0.0.1:${port}/slow`);
  await waitFor(() => (arrived ? true : undefined), 10_000, 'the request at the backend');
  fs.writeFileSync(proxy.conf, conf(port, backend.port, 'v2'));
  expect((await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload'])).code).toBe(0);

  // The new generation answers while the old worker still holds the request.
  type Angie = { generation: number; load_time: string };
  const after = await waitFor(async () => {
    const a = (await getJson(`http://127.0.0.1:${port}/status/angie`)) as Angie;
    return a.generation === 2 ? a : undefined;
  }, 15_000, 'generation 2');
  release();
  const reply = await slow;
  expect(reply.status).toBe(200);
  expect(reply.body).toBe('slow body');
  expect(Date.parse(after.load_time)).toBeGreaterThan(Date.parse(before.load_time));
  // New connections go to the new generation once the old workers have closed their listeners (README: Known limitations).
  await waitFor(async () => ((await request(`http://127.0.0.1:${port}/tag`)).body === 'v2' ? true : undefined), 15_000, 'v2 answering');
  const zones = (await getJson(`http://127.0.0.1:${port}/status/http/metric_zones/done/metrics/`)) as Record<string, number>;
  expect(zones['/slow']).toBe(1);
}, 30_000);
