import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, Proxy, request, startProxy } from '../helpers/proc';

/**
 * allow/deny in front of the API and the Prometheus exposition, for IPv4,
 * IPv6 and CIDRs (first match wins, nginx's rule), seen from three source
 * addresses: 127.0.0.1, 127.0.0.2 (Linux routes all of 127/8 to loopback)
 * and ::1 (the proxy listens on [::1] too). And the API is read-only: no
 * method but GET/HEAD is accepted, and none changes what it shows.
 */

let proxy: Proxy;
let port: number;

const ACCESS: Record<string, string> = {
  v4only: 'allow 127.0.0.1; deny all;',
  v6only: 'allow ::1; deny all;',
  v4host32: 'allow 127.0.0.1/32; deny all;',
  v4net24: 'allow 127.0.0.0/24; deny all;',
  v6net: 'allow ::/120; deny all;',
  elsewhere: 'allow 10.0.0.0/8; allow 192.168.0.0/16; allow fe80::/10; deny all;',
  firstwins: 'deny 127.0.0.1; allow all;',
  open: '',
};

function locations(): string {
  return Object.entries(ACCESS)
    .map(([name, rules]) => `location /${name}/ { ${rules} api /status/; }\n    location = /${name}-metrics { ${rules} prometheus t; }`)
    .join('\n    ');
}

beforeAll(async () => {
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
http {
  metric_zone hits:1m count;
  prometheus_template t { 'hits{key="$1"}' $p8s_value path=~^/http/metric_zones/hits/metrics/(.+)$ type=counter; }
  server {
    listen 127.0.0.1:${port};
    listen [::1]:${port};
    location /count/ { metric hits $uri; return 204; }
    ${locations()}
  }
}`,
    [port],
  );
  for (const k of ['a', 'b', 'b']) await request(`http://127.0.0.1:${port}/count/${k}`);
});

afterAll(async () => proxy?.stop());

type From = '127.0.0.1' | '127.0.0.2' | '::1';

/** A request from a given source address (to the server address of the same family). */
function from(source: From, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const host = source === '::1' ? '::1' : '127.0.0.1';
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, localAddress: source, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SOURCES: From[] = ['127.0.0.1', '127.0.0.2', '::1'];

/** Expected status per source, for each location. */
const EXPECTED: Record<string, [number, number, number]> = {
  v4only: [200, 403, 403],
  v6only: [403, 403, 200],
  v4host32: [200, 403, 403],
  v4net24: [200, 200, 403],
  v6net: [403, 403, 200],
  elsewhere: [403, 403, 403],
  firstwins: [403, 200, 200],
  open: [200, 200, 200],
};

describe('allow / deny on the API and the exposition', () => {
  it.each(Object.entries(EXPECTED))('%s', async (name, statuses) => {
    for (const [i, source] of SOURCES.entries()) {
      const api = await from(source, `/${name}/http/metric_zones/hits/metrics/`);
      const prom = await from(source, `/${name}-metrics`);
      expect([source, api.status, prom.status]).toEqual([source, statuses[i], statuses[i]]);
      if (api.status === 200) expect(JSON.parse(api.body)).toEqual({ '/count/a': 1, '/count/b': 2 });
      else expect(api.body).not.toContain('/count/');
    }
  });
});

describe('the API is read-only', () => {
  const PATHS = ['/open/', '/open/http/metric_zones/hits/', '/open/http/metric_zones/hits/metrics/%2Fcount%2Fa', '/open/nope'];

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s → 405 everywhere, and nothing changes', async (method) => {
    const before = await from('127.0.0.1', '/open/');
    for (const p of PATHS) {
      const r = await from('127.0.0.1', p, method);
      expect([p, r.status]).toEqual([p, 405]);
      expect(JSON.parse(r.body).error).toBe('MethodNotAllowed');
    }
    expect((await from('127.0.0.1', '/open-metrics', method)).status).toBe(405);
    const after = await from('127.0.0.1', '/open/');
    const data = (body: string) => JSON.parse(body).http.metric_zones;
    expect(data(after.body)).toEqual(data(before.body));
  });

  it('a denied client gets 403 before the method is even looked at', async () => {
    expect((await from('127.0.0.2', '/v4only/', 'DELETE')).status).toBe(403);
  });
});
