import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, expect, it } from 'vitest';
import { freePorts, Proxy, request, startProxy } from '../helpers/proc';
import { childPids, until } from './status-helpers';

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string> }> };

let proxy: Proxy | undefined;
afterAll(async () => proxy?.stop());

function workersIn(text: string, family: string): string[] {
  const f = (parsePrometheusTextFormat(text) as Family[]).find((x) => x.name === family);
  return [...new Set((f?.metrics ?? []).map((m) => m.labels?.worker ?? '?'))].sort();
}

it("prometheus_self shows every live worker's process metrics, labelled by pid", async () => {
  const [port] = await freePorts(1);
  proxy = await startProxy(
    `
worker_processes 2;
http {
    access_log off;
    server {
        listen 127.0.0.1:${port};
        location = /self { prometheus_self; }
    }
}
`,
    [port],
  );
  const url = `http://127.0.0.1:${port}/self`;
  const workers = await until(async () => childPids(proxy!.child.pid!).map(String).sort(), (p) => p.length === 2, 'two workers');
  // Whichever worker answers, the other's last publication (at most a second old) is in too.
  const reply = await until(() => request(url), (r) => workersIn(r.body, 'nodejs_heap_size_used_bytes').length === 2, 'both workers');
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  expect(reply.headers['cache-control']).toBe('no-cache');
  for (const family of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_active_handles_total', 'process_cpu_seconds_total']) {
    expect(workersIn(reply.body, family), family).toEqual(workers);
  }
  expect((await request(url, { method: 'POST' })).status).toBe(405);
});
