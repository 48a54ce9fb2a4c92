import { describe, expect, it } from 'vitest';
import { configError, errorLine, loadServer, request } from '../api/harness';
import { loadConfig } from '../../../src/process/load';
import { ReadCtx, StaticObject } from '../../../src/api/tree';

const VERSION = require('../../../package.json').version;
const API = 'location /status/ { api /status/; }';

async function json(rt: ReturnType<typeof loadServer>, path: string): Promise<unknown> {
  const got = await request(rt, 'GET', path);
  expect(got.status).toBe(200);
  return JSON.parse(got.body.toString());
}

describe('status_zone', () => {
  it('stands in server and location, once per level, with a literal name', async () => {
    expect(errorLine('status_zone a; location / { status_zone b; location /x { status_zone c; } }')).toBe('ok');
    expect(errorLine('', 'status_zone a;')).toBe('metricproxy: [emerg] "status_zone" directive is not allowed here in /etc/mp/test.conf:2');
    expect(errorLine('status_zone a; status_zone b;')).toBe('metricproxy: [emerg] "status_zone" directive is duplicate in /etc/mp/test.conf:5');
    expect(errorLine('status_zone;')).toBe('metricproxy: [emerg] invalid number of arguments in "status_zone" directive in /etc/mp/test.conf:5');
    expect(errorLine('status_zone $host;')).toBe('metricproxy: [emerg] variables in "status_zone" are not supported in /etc/mp/test.conf:5');
  });

  it('lists every configured zone, once, in declaration order', async () => {
    const text = `http {
      server { listen 127.0.0.1:8080; ${API} }
      server { listen 127.0.0.1:8081; status_zone b; location /l { status_zone loc; } }
      server { listen 127.0.0.1:8082; status_zone a; }
      server { listen 127.0.0.1:8083; status_zone b; }
    }`;
    const rt = loadConfig('/etc/mp/test.conf', { prefix: '/tmp', text }).runtime;
    const zero = { requests: { total: 0, processing: 0, discarded: 0 }, responses: {}, data: { received: 0, sent: 0 } };
    expect(await json(rt, '/status/http/server_zones/')).toEqual({ b: zero, a: zero });
    expect(await json(rt, '/status/http/location_zones/')).toEqual({
      loc: { requests: { total: 0, discarded: 0 }, responses: {}, data: { received: 0, sent: 0 } },
    });
  });
});

describe('the status tree', () => {
  it('mounts angie, connections, slabs, http and resolvers in Angie\'s order, then metricproxy\'s own branch', async () => {
    const rt = loadServer(API);
    const keys = [...rt.api.root.keys()];
    expect(keys.slice(0, 6)).toEqual(['angie', 'connections', 'slabs', 'http', 'resolvers', 'metricproxy']);
    expect(await json(rt, '/status/slabs')).toEqual({});
    expect(await json(rt, '/status/resolvers')).toEqual({});
    expect(await json(rt, '/status/connections')).toEqual({ accepted: 0, dropped: 0, active: 0, idle: 0 });
    expect(await json(rt, '/status/http/upstreams')).toEqual({});
  });

  it('reports the instance: versions, generation, load and build times', async () => {
    const rt = loadServer(API);
    expect(await json(rt, '/status/angie/version')).toBe(VERSION);
    const angie = rt.api.root.get('angie', new ReadCtx()) as StaticObject;
    expect([...angie.keys()]).toEqual(['version', 'build_time', 'address', 'generation', 'load_time']);
    expect(await json(rt, '/status/metricproxy')).toEqual({ name: 'metricproxy', version: VERSION });
    expect(await json(rt, '/status/angie/generation')).toBe(1);
    for (const field of ['load_time', 'build_time']) {
      expect(await json(rt, `/status/angie/${field}`)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  it('lists upstream blocks with their peers by address, as configured until traffic says otherwise', async () => {
    const http = 'upstream backend { server localhost:9001 weight=3; server 127.0.0.1:9002 backup; server 127.0.0.1:9003 down; }';
    const rt = loadServer(`${API} location /a { proxy_pass http://backend; } location /b { proxy_pass http://127.0.0.1:9009; }`, http);
    const peer = (server: string, over: object) => ({
      server,
      backup: false,
      weight: 1,
      state: 'up',
      selected: { current: 0, total: 0 },
      responses: {},
      data: { sent: 0, received: 0 },
      health: { fails: 0, unavailable: 0, downtime: 0, header_time: 0, response_time: 0 },
      ...over,
    });
    expect(await json(rt, '/status/http/upstreams/')).toEqual({
      backend: {
        peers: {
          'localhost:9001': peer('localhost:9001', { weight: 3 }),
          '127.0.0.1:9003': peer('127.0.0.1:9003', { state: 'down' }),
          '127.0.0.1:9002': peer('127.0.0.1:9002', { backup: true }),
        },
        keepalive: 0,
      },
    });
  });
});

describe('prometheus_self', () => {
  it('is a location directive without arguments that refuses methods other than GET and HEAD', async () => {
    expect(errorLine('location /self { prometheus_self x; }')).toBe(
      'metricproxy: [emerg] invalid number of arguments in "prometheus_self" directive in /etc/mp/test.conf:5',
    );
    expect(configError(() => loadServer('prometheus_self;'))).toBe(
      'metricproxy: [emerg] "prometheus_self" directive is not allowed here in /etc/mp/test.conf:5',
    );
    const rt = loadServer('location /self { prometheus_self; }');
    expect((await request(rt, 'POST', '/self')).status).toBe(405);
  });
});
