import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, Proxy, request, startBackend, startProxy } from '../helpers/proc';
import { childPids, isAlive, waitFor } from '../helpers/sys';

/**
 * kill -9 of the master (issue 10 item 8). The listening sockets are the
 * master's (Node's cluster hands connections out from there), so unlike
 * nginx's workers, ours cannot keep serving new connections. What
 * survives: the requests the workers hold finish; each worker logs why it
 * leaves, the dead master's pid file is removed, and the next start on
 * the same prefix works with no cleanup.
 */

const proxies: Proxy[] = [];
let slow: Awaited<ReturnType<typeof startBackend>>;
let releaseSlow: () => void = () => undefined;

afterAll(async () => {
  releaseSlow();
  for (const p of proxies) await p.stop('SIGKILL');
  await slow?.close();
});

const config = (port: number, upstream: number) => `
worker_processes 2;
error_log logs/error.log;
http {
  server {
    listen 127.0.0.1:${port};
    location /slow { proxy_pass http://127.0.0.1:${upstream}; }
    location / { return 200 "pid $pid"; }
  }
}`;

describe('the master killed with SIGKILL', () => {
  it('workers finish in-flight requests, log, exit, remove the pid file; the next start serves', async () => {
    let arrived = 0;
    const held: Array<() => void> = [];
    slow = await startBackend((_req, res) => {
      arrived++;
      held.push(() => res.end('finished'));
    });
    releaseSlow = () => held.splice(0).forEach((f) => f());
    const [port] = await freePorts(1);
    const first = await startProxy(config(port, slow.port), [port]);
    proxies.push(first);
    const master = first.child.pid!;
    const workers = await waitFor(() => (childPids(master).length === 2 ? childPids(master) : undefined), 20_000, 'two workers');
    const pidFile = path.join(first.prefix, 'logs/metricproxy.pid');

    const inFlight = request(`http://127.0.0.1:${port}/slow`);
    await waitFor(() => (arrived === 1 ? true : undefined), 10_000, 'request at the upstream');
    process.kill(master, 'SIGKILL');
    const errorLog = path.join(first.prefix, 'logs/error.log');
    await waitFor(() => (fs.existsSync(errorLog) && fs.readFileSync(errorLog, 'utf8').split('\n').filter((l) => l.includes('[alert]')).length === 2 ? true : undefined), 20_000, 'two alerts');
    expect(fs.readFileSync(errorLog, 'utf8')).toContain(`[alert] ${workers[0]}#0: master process ${master} exited unexpectedly; worker process ${workers[0]} finishes its requests and exits`);
    expect(fs.existsSync(pidFile)).toBe(false);

    releaseSlow();
    const answer = await inFlight;
    expect(answer).toMatchObject({ status: 200, body: 'finished' });
    await waitFor(() => (workers.every((w) => !isAlive(w)) ? true : undefined), 30_000, 'workers exit');

    const second = await startProxy(config(port, slow.port), [port], { prefix: first.prefix });
    proxies.push(second);
    expect((await request(`http://127.0.0.1:${port}/`)).body).toMatch(/^pid \d+$/);
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(second.child.pid);
  }, 120_000);
});
