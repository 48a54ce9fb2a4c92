import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, makePrefix, Proxy, request, runCli, startOnFreePort } from '../helpers/proc';

// Issue 12 item 2: the status tree in Angie's shape (src/core/ngx_api.c, ngx_slab.c,
// ngx_resolver.c, ngx_http_upstream_zone_module.c).

let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

type Slot = { used: number; free: number; reqs: number; fails: number };
type Slab = { pages: { used: number; free: number }; slots: Record<string, Slot> };

async function start(httpBody: string, locations = ''): Promise<{ port: number; get: (p: string) => Promise<unknown> }> {
  const started = await startOnFreePort(
    (port) => `http {\n  ${httpBody}\n  server {\n    listen 127.0.0.1:${port};\n    location /status/ { api /status/; }\n    ${locations}\n  }\n}`,
  );
  proxy = started.proxy;
  return { port: started.port, get: (p) => getJson(`http://127.0.0.1:${started.port}${p}`) };
}

describe('the branches Angie has', () => {
  it("without any zone: slabs and resolvers are empty objects; angie holds only Angie's fields", async () => {
    const { get } = await start('');
    const status = (await get('/status/')) as Record<string, unknown>;
    const keys = Object.keys(status);
    expect(keys.slice(0, 5)).toEqual(['angie', 'connections', 'slabs', 'http', 'resolvers']);
    expect(status.slabs).toEqual({});
    expect(status.resolvers).toEqual({});
    expect(Object.keys(status.angie as object)).toEqual(['version', 'build_time', 'address', 'generation', 'load_time']);
    expect(await get('/status/metricproxy/name')).toBe('metricproxy');
    expect(await get('/status/metricproxy/version')).toBe((status.angie as { version: string }).version);
  });
});

describe("/status/slabs/ZONE of a metric zone, as Angie's slab pool", () => {
  it('pages and the 128-byte slot; as the zone fills, fails moves exactly with discarded', async () => {
    const { port, get } = await start('metric_zone z:32k count;', 'location /k { metric z $arg_k; return 204; }');
    // A 32k zone has 7 pages; the zone's context and its log context take two chunks of one page.
    expect(await get('/status/slabs/z')).toEqual({ pages: { used: 1, free: 6 }, slots: { '128': { used: 2, free: 30, reqs: 2, fails: 0 } } });
    expect(await get('/status/metricproxy/slabs/z')).toEqual({ chunks: { used: 2, total: 224 }, keys: 0 });

    // 300 keys of 39 bytes, one chunk each: 222 fit, 78 find the zone full (measured on Angie, see store.test.ts).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const send = (i: number) =>
        new Promise<void>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port, path: `/k?k=${String(i).padStart(39, 'k')}`, agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
        });
      for (let i = 0; i < 300; i += 4) await Promise.all([i, i + 1, i + 2, i + 3].filter((n) => n < 300).map(send));
    } finally {
      agent.destroy();
    }
    const slab = (await get('/status/slabs/z')) as Slab;
    const discarded = (await get('/status/http/metric_zones/z/discarded')) as number;
    expect(discarded).toBe(78);
    expect(slab).toEqual({ pages: { used: 7, free: 0 }, slots: { '128': { used: 224, free: 0, reqs: 224 + 78, fails: 78 } } });
    expect(await get('/status/metricproxy/slabs/z')).toEqual({ chunks: { used: 224, total: 224 }, keys: 222 });
  }, 60_000);
});

describe('upstream zone NAME [SIZE]', () => {
  it('is accepted, listed under slabs in declaration order, and an upstream with a zone and no server loads (502)', async () => {
    const { port, get } = await start(
      'upstream empty { zone shared 64k; }\n  metric_zone m:128k count;\n  upstream other { zone shared; server 127.0.0.1:9; }',
      'location /e { proxy_pass http://empty; }',
    );
    const slabs = (await get('/status/slabs')) as Record<string, Slab>;
    expect(Object.keys(slabs)).toEqual(['shared', 'm']);
    // metricproxy keeps upstream state in each worker: the zone's 15 pages stay free.
    expect(slabs.shared).toEqual({ pages: { used: 0, free: 15 }, slots: {} });
    expect(await get('/status/http/upstreams/empty')).toEqual({ peers: {}, keepalive: 0 });
    expect((await request(`http://127.0.0.1:${port}/e`)).status).toBe(502);
  });

  it("refuses what Angie refuses: a zone too small, one never sized, one name for two uses, two sizes", async () => {
    const check = async (httpBody: string) => {
      const { prefix, conf } = makePrefix(`http {\n  ${httpBody}\n  server { listen 127.0.0.1:1; }\n}\n`);
      const run = await runCli(['-p', prefix, '-c', conf, '-t']);
      expect(run.code).toBe(1);
      return run.stderr.split('\n')[0].replace(conf, 'CONF');
    };
    expect(await check('upstream u { zone z 16k; }')).toBe('metricproxy: [emerg] zone "z" is too small, at least 32768 bytes expected in CONF:2');
    expect(await check('upstream u { zone z; }')).toBe('metricproxy: [emerg] zero size shared memory zone "z"');
    expect(await check('metric_zone z:64k count;\n  upstream u { zone z 64k; }')).toBe(
      'metricproxy: [emerg] the shared memory zone "z" is already declared for a different use in CONF:3',
    );
    expect(await check('upstream u { zone z 64k; }\n  upstream v { zone z 128k; }')).toBe(
      'metricproxy: [emerg] the size 131072 of shared memory zone "z" conflicts with already declared size 65536 in CONF:3',
    );
  });
});
