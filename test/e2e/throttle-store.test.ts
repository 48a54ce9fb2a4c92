import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, startProxy } from '../helpers/proc';
import { smallDisk } from '../helpers/sys';
import { api, auditLines } from './throttle-helpers';

const conf = (port: number, store: string) => `
worker_processes 1;
http {
  metric_store ${store};
  metric_zone big:16m count;
  metric_zone load:1m last;
  throttle_zone t:64k { watch load; above 1; limit max_concurrency=1; audit_log logs/throttle.jsonl; }
  server {
    listen 127.0.0.1:${port};
    location /w { metric big $arg_k; return 204; }
    location /throttle/ { throttle_api t; }
    location /status/ { api /status/; }
  }
}`;

let proxy: Proxy | undefined;
const cleanups: Array<() => void> = [];
afterAll(async () => {
  await proxy?.stop();
  for (const c of cleanups) c();
});

it('a PATCH the store cannot take answers 503 and changes nothing', async () => {
  const [port] = await freePorts(1);
  proxy = await startProxy(conf(port, `${smallDisk(cleanups).mnt}/data`), [port]);
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  const failures = async () => ((await getJson(url('/status/store/'))) as { failures: number }).failures;
  // Fill the disk with long metric keys until commits fail.
  for (let i = 0; (await failures()) === 0; i += 50) {
    for (let j = 0; j < 50; j++) await request(url(`/w?k=${'k'.repeat(120)}-${i + j}`));
  }
  const reply = await api(url('/throttle/K'), 'PATCH', { max_concurrency: 1, reason: 'r'.repeat(8 * 1024) });
  expect(reply).toMatchObject({ status: 503, json: { status: 'error', errorType: 'unavailable' } });
  expect((await api(url('/throttle/'))).json).toEqual({ status: 'success', data: [] });
  expect(auditLines(path.join(proxy.prefix, 'logs/throttle.jsonl'))).toEqual([]);
});
