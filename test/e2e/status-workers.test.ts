import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, Proxy, startBackend, startProxy } from '../helpers/proc';
import { socketCount } from '../helpers/sys';
import { childPids, exchange, Exchange, idleConnection, refused, StatusReader, until } from './status-helpers';

interface Zone {
  requests: { total: number; processing?: number; discarded: number };
  responses: Record<string, number>;
  data: { received: number; sent: number };
}

interface Peer {
  selected: { current: number; total: number };
  responses: Record<string, number>;
}

interface UpstreamStatus extends Status {
  http: Status['http'] & { upstreams: Record<string, { peers: Record<string, Peer> }> };
}

interface Status {
  angie: { address: string; generation: number; load_time: string };
  connections: { accepted: number; dropped: number; active: number; idle: number };
  http: { server_zones: Record<string, Zone>; location_zones: Record<string, Zone> };
}

/** `backend`: the port of upstream `slow`; tests that never use /slow/ leave it at the discard port. */
function config(front: number, api: number, workers: number, workerConnections = 64, backend = 9): string {
  return `
worker_processes ${workers};
events { worker_connections ${workerConnections}; }
http {
    access_log off;
    upstream slow { server 127.0.0.1:${backend}; }
    server {
        listen 127.0.0.1:${front};
        status_zone front;
        location / { return 200 "$pid\\n"; }
        location /api/ {
            status_zone apis;
            return 204;
            location /api/deep/ { return 404; }
        }
        location /slow/ { proxy_pass http://slow; }
    }
    server {
        listen 127.0.0.1:${api};
        location /status/ { api /status/; }
    }
}
`;
}

/** startProxy checks that each of the two ports accepts with one connection: the workers count them. */
const PROBES = 2;

let proxy: Proxy | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.stop();
  proxy = undefined;
});

async function start(workers: number, workerConnections?: number, backend?: number): Promise<{ front: number; status: StatusReader }> {
  const [front, api] = await freePorts(2);
  proxy = await startProxy(config(front, api, workers, workerConnections, backend), [front, api]);
  // The master writes its pid file once every worker is ready; a worker killed before that fails the start.
  const pidFile = path.join(proxy.prefix, 'logs/metricproxy.pid');
  await until(async () => fs.existsSync(pidFile), Boolean, 'all workers to be ready');
  return { front, status: new StatusReader(`http://127.0.0.1:${api}/status`) };
}

function sum(xs: Exchange[], field: 'sent' | 'received'): number {
  return xs.reduce((n, x) => n + x[field], 0);
}

describe('status counters summed over two workers', () => {
  it('server and location zones, responses, bytes and connections add up to what was sent', async () => {
    const { front, status } = await start(2);
    // Until both workers have answered (their pids differ; the second may still be binding at first).
    const done: Exchange[] = [];
    const pids = new Set<string>();
    while (done.length < 10 || pids.size < 2) {
      const x = await exchange(front, '/');
      done.push(x);
      pids.add(x.body.trim());
    }
    const roots = done.length;
    for (const p of [...Array(6).fill('/api/x'), ...Array(4).fill('/api/deep/y')]) done.push(await exchange(front, p));
    const total = roots + 10;

    const s = await until(() => status.get<Status>('/'), (v) => v.http.server_zones.front.requests.total === total, 'every request');
    expect(s.http.server_zones.front).toEqual({
      requests: { total, processing: 0, discarded: 0 },
      responses: { '200': roots, '204': 6, '404': 4 },
      data: { received: sum(done, 'sent'), sent: sum(done, 'received') },
    });
    const apis = done.slice(roots);
    // The nested location counts into the zone of the location around it.
    expect(s.http.location_zones.apis).toEqual({
      requests: { total: 10, discarded: 0 },
      responses: { '204': 6, '404': 4 },
      data: { received: sum(apis, 'sent'), sent: sum(apis, 'received') },
    });
    // The previous poll's connection may still be open in the other worker's latest snapshot.
    const settled = (v: Status) => v.connections.accepted === PROBES + total + status.connections && v.connections.active === 1;
    const c = await until(() => status.get<Status>('/'), settled, 'every connection counted, only this one open');
    expect(c.connections).toEqual({ accepted: PROBES + total + status.connections, dropped: 0, active: 1, idle: 0 });
    expect(c.angie.address).toBe('127.0.0.1');
    expect(c.angie.generation).toBe(1);
  });

  it('requests in flight on both workers show as processing and as the peer\'s current selections', async () => {
    // Requests are held until released; one that reaches the backend after the release (the
    // proxy counts a request as processing before its upstream request arrives) is answered at once.
    const held: Array<() => void> = [];
    let released = false;
    const backend = await startBackend((_req, res) => (released ? res.end('late\n') : held.push(() => res.end('late\n'))));
    try {
      const { front, status } = await start(2, undefined, backend.port);
      const peerOf = (v: UpstreamStatus) => v.http.upstreams.slow.peers[`127.0.0.1:${backend.port}`];
      const replies = Array.from({ length: 4 }, () => exchange(front, '/slow/x'));
      // A previous poll's connection may still be open in the other worker's latest snapshot: wait for both.
      const inFlight = (v: UpstreamStatus) => v.http.server_zones.front.requests.processing === 4 && v.connections.active === 5;
      const busy = await until(() => status.get<UpstreamStatus>('/'), inFlight, '4 in flight');
      expect(peerOf(busy).selected).toMatchObject({ current: 4, total: 4 });
      expect(busy.connections).toMatchObject({ active: 5, idle: 0 });
      released = true;
      for (const release of held.splice(0)) release();
      await Promise.all(replies);
      const idle = await until(() => status.get<UpstreamStatus>('/'), (v) => v.http.server_zones.front.requests.processing === 0, 'all answered');
      expect(peerOf(idle).selected).toMatchObject({ current: 0, total: 4 });
      expect(peerOf(idle).responses).toEqual({ '200': 4 });
    } finally {
      await backend.close();
    }
  });

  it('gauges count live workers only: a killed worker takes its connections out, its counts stay', async () => {
    const { front, status } = await start(2);
    for (let i = 0; i < 6; i++) sockets.push(await idleConnection(front, '/'));
    // A worker's snapshot can be taken between a connection's accept (idle, as nginx counts a
    // connection waiting for its first request) and its request: wait for the settled state.
    const settled = (v: Status) => v.connections.active === 7 && v.connections.idle === 6 && v.http.server_zones.front.requests.total === 6;
    await until(() => status.get<Status>('/'), settled, '6 idle connections, 6 requests');

    const [victim] = childPids(proxy!.child.pid!);
    process.kill(victim, 'SIGKILL');
    // The killed worker held some of the six; the kernel closes them.
    const openSockets = async () => sockets.filter((s) => !s.destroyed).length;
    await until(openSockets, (n) => n < 6, 'the killed worker\'s connections to close');
    await until(async () => childPids(proxy!.child.pid!).length, (n) => n === 2, 'the replacement worker');
    const open = await openSockets();
    const after = await until(() => status.get<Status>('/'), (v) => v.connections.active === open + 1, 'live gauges only');
    expect(after.connections.idle).toBe(open);
    expect(after.http.server_zones.front.requests.total).toBe(6);
  });

  it('a reload keeps counting; the old workers hand their counts over as they leave', async () => {
    const { front, status } = await start(2);
    for (let i = 0; i < 8; i++) await exchange(front, '/');
    const first = await until(() => status.get<Status>('/'), (v) => v.http.server_zones.front.requests.total === 8, '8 requests');
    const oldWorkers = childPids(proxy!.child.pid!);
    process.kill(proxy!.child.pid!, 'SIGHUP');
    await until(async () => childPids(proxy!.child.pid!).filter((p) => oldWorkers.includes(p)).length, (n) => n === 0, 'the old workers to exit');
    const s = await until(() => status.get<Status>('/'), (v) => v.angie.generation === 2 && v.connections.active === 1, 'generation 2');
    expect(s.angie.load_time > first.angie.load_time).toBe(true);
    expect(s.http.server_zones.front.requests).toEqual({ total: 8, processing: 0, discarded: 0 });
    expect(s.connections).toMatchObject({ accepted: PROBES + 8 + status.connections, active: 1, idle: 0 });
  });
});

describe('worker_connections', () => {
  it('closes a connection beyond it at once and counts it as dropped', async () => {
    const { front, status } = await start(1, 2);
    sockets.push(await idleConnection(front, '/'), await idleConnection(front, '/'));
    expect(await refused(front)).toBe(true);
    const [worker] = childPids(proxy!.child.pid!);
    const open = socketCount(worker);
    sockets.pop()!.destroy();
    // The worker must have seen that close before the API connection takes the freed slot.
    await until(async () => socketCount(worker), (n) => n === open - 1, 'the worker to close that connection');
    const s = await status.get<Status>('/');
    expect(s.connections).toEqual({ accepted: PROBES + 3 + status.connections, dropped: 1, active: 2, idle: 1 });
  });
});
