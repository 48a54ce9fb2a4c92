import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI, Proxy, request, startBackend, startOnFreePort } from '../helpers/proc';
import { childPids, isAlive, waitFor } from '../helpers/sys';

// Issue 12 item 5: process titles as nginx sets them.

let proxy: Proxy;
let port: number;
let backend: Awaited<ReturnType<typeof startBackend>>;
const held: http.ServerResponse[] = [];

/** What `ps -o args` shows: /proc/PID/cmdline with its NULs as spaces. */
const title = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').replace(/\0/g, ' ');

function ps(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch (e) {
    throw new Error(`ps failed (${(e as Error).message}); apt-get install -y procps`);
  }
}

beforeAll(async () => {
  backend = await startBackend((_req, res) => void held.push(res));
  ({ proxy, port } = await startOnFreePort(
    (p) => `
worker_processes 2;
http {
  server {
    listen 127.0.0.1:${p};
    location /held { proxy_pass http://127.0.0.1:${backend.port}; }
    location /pid { return 200 "$pid"; }
  }
}`,
  ));
});

afterAll(async () => {
  for (const res of held) res.end();
  await proxy?.stop('SIGTERM');
  await backend?.close();
});

it('master: "metricproxy: master process <command line>"; workers: "metricproxy: worker process"', async () => {
  const master = proxy.child.pid!;
  const expected = `metricproxy: master process ${process.execPath} ${CLI} -p ${proxy.prefix} -c ${proxy.conf}`;
  expect(title(master)).toBe(expected);
  expect(ps(master)).toBe(expected);
  expect(fs.readFileSync(`/proc/${master}/comm`, 'utf8').trim()).toBe('metricproxy');
  const workers = childPids(master);
  expect(workers).toHaveLength(2);
  for (const w of workers) {
    expect(title(w)).toBe('metricproxy: worker process');
    expect(ps(w)).toBe('metricproxy: worker process');
  }
  // The environment survives the title written over it: a worker still answers with its own variables.
  expect(workers).toContain(Number((await request(`http://127.0.0.1:${port}/pid`)).body));
});

it('a worker retiring after a reload: "metricproxy: worker process is shutting down"', async () => {
  const master = proxy.child.pid!;
  const old = childPids(master);
  const pending = request(`http://127.0.0.1:${port}/held`);
  await waitFor(() => (held.length > 0 ? true : undefined), 10_000, 'the request reaching the backend');
  process.kill(master, 'SIGHUP');
  const retiring = await waitFor(
    () => old.find((pid) => isAlive(pid) && title(pid) === 'metricproxy: worker process is shutting down'),
    15_000,
    'a retiring worker titled "is shutting down"',
  );
  const fresh = await waitFor(() => {
    const now = childPids(master).filter((pid) => !old.includes(pid));
    return now.length === 2 ? now : undefined;
  }, 15_000, 'two new workers');
  for (const w of fresh) expect(title(w)).toBe('metricproxy: worker process');
  for (const res of held.splice(0)) res.end('done');
  expect((await pending).body).toBe('done');
  await waitFor(() => (isAlive(retiring) ? undefined : true), 15_000, 'the retiring worker to exit');
}, 40_000);
