import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startExample } from '../helpers/examples';
import { freePorts, getJson, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';

let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.stop('SIGTERM');
  proxy = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const conf = (port: number, zones: string) => `
worker_processes 2;
http {
  ${zones}
  server {
    listen 127.0.0.1:${port};
    location /hit/ { metric z $arg_k=$arg_v; return 204; }
    location /api/ { api /status/http/metric_zones/; }
  }
}`;

type Zone = { discarded: number; metrics: Record<string, number> };

async function zone(port: number): Promise<Zone> {
  return (await getJson(`http://127.0.0.1:${port}/api/z`)) as Zone;
}

async function hit(port: number, key: string, value = 1): Promise<void> {
  expect((await request(`http://127.0.0.1:${port}/hit/?k=${key}&v=${value}`)).status).toBe(204);
}

/** Polls `probe` until it holds; each turn runs `meanwhile` first (keeps a key fresh). */
async function until(what: string, probe: () => Promise<boolean>, meanwhile = async () => undefined, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    await meanwhile();
    if (await probe()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function start(zones: string, prefix?: string): Promise<number> {
  const [port] = await freePorts(1);
  proxy = await startProxy(conf(port, zones), [port], { prefix });
  return port;
}

describe('metric_zone ttl=', () => {
  it('a key not updated for the ttl disappears and folds into the discard key; a fresh one stays; discarded unchanged', async () => {
    const port = await start('metric_zone z:1m discard_key=old ttl=1s gauge;');
    await hit(port, 'stale', 5);
    await hit(port, 'stale', 2);
    await hit(port, 'fresh', 1);
    expect((await zone(port)).metrics).toEqual({ stale: 7, fresh: 1 });
    await until(
      'the stale key to go',
      async () => (await zone(port)).metrics.stale === undefined,
      () => hit(port, 'fresh', 1),
    );
    const z = await zone(port);
    expect(z.discarded).toBe(0);
    expect(z.metrics.old).toBe(7);
    expect(z.metrics.fresh).toBeGreaterThan(1);
    // Updated again, the key starts afresh.
    await hit(port, 'stale', 1);
    expect((await zone(port)).metrics.stale).toBe(1);
  });

  it('the room of expired keys is reused: a zone takes as many new keys as it holds without discarding', async () => {
    // `cap` has no ttl: filling it measures how many such keys a 32k zone holds, however slow the machine.
    const [port] = await freePorts(1);
    const zones = 'metric_zone z:32k ttl=1s count;\n  metric_zone cap:32k count;';
    proxy = await startProxy(conf(port, zones).replace('metric z $arg_k=$arg_v;', 'metric z $arg_k; metric cap $arg_k;'), [port]);
    const key = (tag: string, i: number) => `${'x'.repeat(200)}${tag}${String(i).padStart(4, '0')}`;
    const cap = async () => (await getJson(`http://127.0.0.1:${port}/api/cap`)) as Zone;
    let n = 0;
    while ((await cap()).discarded === 0) await hit(port, key('a', n++));
    const holds = n - 1;
    await until('every key to expire', async () => Object.keys((await zone(port)).metrics).length === 0);
    const discarded = (await zone(port)).discarded;
    for (let i = 0; i < holds; i++) await hit(port, key('b', i));
    const z = await zone(port);
    expect(z.discarded).toBe(discarded);
    expect(z.metrics[key('b', holds - 1)]).toBe(1);
  }, 90_000);

  it('metric_complex_zone: ttl applies to the whole key', async () => {
    const port = await start('metric_complex_zone z:1m ttl=1s { n count; top max; }');
    await hit(port, 'a', 3);
    expect((await zone(port)).metrics).toEqual({ a: { n: 1, top: 3 } });
    await until('the key to go', async () => Object.keys((await zone(port)).metrics).length === 0);
  });

  it('a reload with another ttl keeps the data; the new ttl applies to it', async () => {
    const port = await start('metric_zone z:1m ttl=1h count;');
    await hit(port, 'k');
    await hit(port, 'k');
    fs.writeFileSync(proxy!.conf, conf(port, 'metric_zone z:1m ttl=2s count;'));
    expect((await runCli(['-p', proxy!.prefix, '-c', proxy!.conf, '-s', 'reload'])).code).toBe(0);
    expect((await zone(port)).metrics).toEqual({ k: 2 });
    // Once the new workers answer alone (the old ones would keep k for an hour), k expires.
    await until('the 2s ttl to drop k', async () => Object.keys((await zone(port)).metrics).length === 0);
   }, 60_000);

  it('a restart keeps each key\'s last update time (shown with ?updated=on)', async () => {
    const { prefix } = makePrefix('');
    let port = await start('metric_zone z:1m ttl=1h count;', prefix);
    await hit(port, 'k');
    const before = (await getJson(`http://127.0.0.1:${port}/api/z?updated=on`)) as Zone & { updated: Record<string, string> };
    expect(Object.keys(before.updated)).toEqual(['k']);
    expect(Date.parse(before.updated.k)).toBeLessThanOrEqual(Date.now());
    await proxy!.stop('SIGQUIT');
    port = await start('metric_zone z:1m ttl=1h count;', prefix);
    expect(await getJson(`http://127.0.0.1:${port}/api/z?updated=on`)).toEqual({ discarded: 0, metrics: { k: 1 }, updated: before.updated });
   }, 60_000);

  it('Angie\'s shape by default: no update times without ?updated=on, none for zones that keep no update order', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(
      conf(port, 'metric_zone z:1m ttl=1h count;\n  metric_zone plain:1m count;\n  metric_zone lru:1m expire=on count;')
        .replace('metric z $arg_k=$arg_v;', 'metric z $arg_k; metric plain $arg_k; metric lru $arg_k;'),
      [port],
    );
    await hit(port, 'k');
    const all = (q: string) => getJson(`http://127.0.0.1:${port}/api/${q}`) as Promise<Record<string, Record<string, unknown>>>;
    expect(await all('')).toEqual({ z: { discarded: 0, metrics: { k: 1 } }, plain: { discarded: 0, metrics: { k: 1 } }, lru: { discarded: 0, metrics: { k: 1 } } });
    const shown = await all('?updated=on');
    expect(Object.keys(shown.z.updated as object)).toEqual(['k']);
    expect(Object.keys(shown.lru.updated as object)).toEqual(['k']);
    expect(shown.plain).toEqual({ discarded: 0, metrics: { k: 1 } });
  });
});

describe('conf/examples/ttl-reset.conf', () => {
  it('counts clients, forgets a silent one into "gone", resets on DELETE', async () => {
    const ex = await startExample('ttl-reset', { 'ttl=10m': 'ttl=1s' });
    proxy = ex.proxy;
    expect((await ex.get('/')).status).toBe(204);
    expect(await ex.json('/api/clients')).toEqual({ discarded: 0, metrics: { '127.0.0.1': 1 } });
    await until('the client to be forgotten', async () => JSON.stringify(await ex.json('/api/clients/metrics')) === '{"gone":1}');
    const del = await request(ex.proxy.url(ex.port, '/api/clients'), { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await ex.json('/api/clients')).toEqual({ discarded: 0, metrics: {} });
  });
});

describe('ttl= bad input', () => {
  it.each([
    ['ttl=0', 'invalid ttl "0"'],
    ['ttl=abc', 'invalid ttl "abc"'],
    ['ttl=', 'invalid ttl ""'],
    ['ttl=5x', 'invalid ttl "5x"'],
  ])('%s is one [emerg] line', async (param, message) => {
    const { prefix, conf: file } = makePrefix(`http {\n  metric_zone z:1m ${param} count;\n  metric_complex_zone c:1m ${param} { n count; }\n}\n`);
    const r = await runCli(['-p', prefix, '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`metricproxy: [emerg] ${message} in ${file}:2`);
  });
});
