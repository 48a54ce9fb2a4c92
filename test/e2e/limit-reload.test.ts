import * as fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { getJson, Proxy, runCli, startBackend, startOnFreePort } from '../helpers/proc';
import { hit } from './limit-helpers';
import { until } from './status-helpers';

const config = (port: number, backend: number, size: string, tag: string) => `
worker_processes 2;
http {
    access_log off;
    limit_req_zone $arg_k zone=slow:${size} rate=1r/m;
    server {
        listen 127.0.0.1:${port};
        location / { limit_req zone=slow; proxy_pass http://127.0.0.1:${backend}; }
        location /tag { return 200 "${tag}"; }
        location /status/ { api /status/; }
    }
}`;

let proxy: Proxy | undefined;
let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

it('a reload keeps an unchanged zone (state and counters), empties a changed one, and a bad reload keeps the old config', async () => {
  backend = await startBackend((_req, res) => res.end('ok'));
  const b = backend.port;
  let port = 0;
  ({ proxy, port } = await startOnFreePort((p) => ((port = p), config(p, b, '1m', 'v1'))));
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const generation = async () => ((await getJson(url('/status/angie'))) as { generation: number }).generation;
  const reload = async (text: string) => {
    fs.writeFileSync(proxy!.conf, text);
    return runCli(['-p', proxy!.prefix, '-c', proxy!.conf, '-s', 'reload']);
  };
  // The old workers may still take a connection until they have closed their listeners.
  const generations = () => Promise.all(Array.from({ length: 6 }, generation));
  const counters = () => getJson(url('/status/http/limit_reqs/slow')) as Promise<Record<string, number>>;

  expect((await hit(url('/?k=a'))).status).toBe(200);
  expect((await hit(url('/?k=a'))).status).toBe(503);

  expect((await reload(config(port, b, '1m', 'v2'))).code).toBe(0);
  await until(generation, (g) => g === 2, 'generation 2');
  await until(async () => (await hit(url('/tag'))).status, () => true, 'v2 serving');
  // At 1 r/m the bucket is still full: the new workers see the old state.
  expect((await hit(url('/?k=a'))).status).toBe(503);
  await until(counters, (c) => c.passed === 1 && c.rejected === 2, 'counters kept across the reload');
  await until(generations, (gs) => gs.every((g) => g === 2), 'only generation-2 workers answering');

  const bad = await reload(config(port, b, '1m', 'v3').replace('rate=1r/m', 'rate=0r/s'));
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('invalid rate "rate=0r/s"');
  expect(await generation()).toBe(2);
  expect((await hit(url('/?k=a'))).status).toBe(503);

  expect((await reload(config(port, b, '2m', 'v4'))).code).toBe(0);
  await until(generation, (g) => g === 3, 'generation 3');
  await until(generations, (gs) => gs.every((g) => g === 3), 'only generation-3 workers answering');
  await until(() => hit(url('/?k=a')), (h) => h.status === 200, 'a changed zone starting empty');
  await until(counters, (c) => c.passed === 1 && c.rejected === 0, 'a changed zone counting from zero');
});
