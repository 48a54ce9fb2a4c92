import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, startBackend, startProxy } from '../helpers/proc';

let proxy: Proxy | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.stop('SIGTERM');
  proxy = undefined;
  for (const close of closers.splice(0)) await close();
});

const conf = (front: number, api: number, backend: number) => `
worker_processes 2;
http {
  access_log off;
  upstream back { server 127.0.0.1:${backend}; }
  server {
    listen 127.0.0.1:${front};
    status_zone front;
    location / { return 200 "$pid"; }
    location /loc/ { status_zone loc; return 204; }
    location /up/ { proxy_pass http://back; }
  }
  server {
    listen 127.0.0.1:${api};
    location /status/ { api /status/ write=on; }
  }
}`;

interface Status {
  server_zones: Record<string, { requests: { total: number; processing: number }; responses: Record<string, number> }>;
  location_zones: Record<string, { requests: { total: number }; responses: Record<string, number> }>;
  upstreams: Record<string, { peers: Record<string, { state: string; selected: { total: number }; responses: Record<string, number> }> }>;
}

async function start(): Promise<{ front: number; api: number; peer: string }> {
  const backend = await startBackend((_req, res) => res.end('ok'));
  closers.push(() => backend.close());
  const [front, api] = await freePorts(2);
  proxy = await startProxy(conf(front, api, backend.port), [front, api]);
  return { front, api, peer: `127.0.0.1:${backend.port}` };
}

/** Fresh connections: the requests spread over both workers. */
async function hits(front: number, path: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await request(`http://127.0.0.1:${front}${path}`);
}

const status = async (api: number) => (await getJson(`http://127.0.0.1:${api}/status/http/`)) as Status;
const del = (api: number, path: string) => request(`http://127.0.0.1:${api}/status/http/${path}`, { method: 'DELETE' });

async function untilStatus(api: number, holds: (s: Status) => boolean): Promise<Status> {
  const end = Date.now() + 30_000;
  for (;;) {
    const s = await status(api);
    if (holds(s)) return s;
    if (Date.now() > end) throw new Error(`status never reached the expected state: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('api write=on: DELETE resets status counters as NGINX Plus does', () => {
  it('server and location zones: totals restart from zero on every worker; others untouched', async () => {
    const { front, api } = await start();
    await hits(front, '/', 6);
    await hits(front, '/loc/', 4);
    await untilStatus(api, (s) => s.server_zones.front.requests.total === 10 && s.location_zones.loc.requests.total === 4);
    expect((await del(api, 'location_zones/loc')).status).toBe(204);
    let s = await status(api);
    expect(s.location_zones.loc).toEqual({ requests: { total: 0, discarded: 0 }, responses: {}, data: { received: 0, sent: 0 } });
    expect(s.server_zones.front.requests.total).toBe(10);
    expect((await del(api, 'server_zones/front')).status).toBe(204);
    s = await status(api);
    expect(s.server_zones.front).toEqual({ requests: { total: 0, processing: 0, discarded: 0 }, responses: {}, data: { received: 0, sent: 0 } });
    await hits(front, '/loc/', 3);
    s = await untilStatus(api, (x) => x.server_zones.front.requests.total === 3);
    expect(s.server_zones.front.responses).toEqual({ '204': 3 });
    expect(s.location_zones.loc.requests.total).toBe(3);
  });

  it('an upstream: its peers\' counters restart from zero, state kept', async () => {
    const { front, api, peer } = await start();
    await hits(front, '/up/', 5);
    await untilStatus(api, (s) => s.upstreams.back.peers[peer].selected.total === 5);
    expect((await del(api, 'upstreams/back')).status).toBe(204);
    let p = (await status(api)).upstreams.back.peers[peer];
    expect(p.selected.total).toBe(0);
    expect(p.responses).toEqual({});
    expect(p.state).toBe('up');
    await hits(front, '/up/', 2);
    // Selections and responses are counted at different points of a request: wait for both.
    const both = (s: Status) => s.upstreams.back.peers[peer].selected.total === 2 && s.upstreams.back.peers[peer].responses['200'] === 2;
    p = (await untilStatus(api, both)).upstreams.back.peers[peer];
    expect(p.responses).toEqual({ '200': 2 });
  });

  it('404 for an unknown zone or upstream, 405 for whole branches', async () => {
    const { api } = await start();
    for (const p of ['server_zones/nope', 'location_zones/nope', 'upstreams/nope']) expect((await del(api, p)).status, p).toBe(404);
    for (const p of ['server_zones', 'upstreams', 'server_zones/front/requests', 'upstreams/back/peers']) {
      const r = await del(api, p);
      expect(r.status, p).toBe(405);
      expect(JSON.parse(r.body).error).toBe('MethodNotAllowed');
    }
  });
});
