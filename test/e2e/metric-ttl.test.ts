import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
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

  it('the room of expired keys is reused: a full zone takes new keys again without discarding', async () => {
    const port = await start('metric_zone z:32k ttl=1s count;');
    const long = 'x'.repeat(200);
    let n = 0;
    const key = (tag: string, i: number) => `${long}${tag}${String(i).padStart(4, '0')}`;
    while ((await zone(port)).discarded === 0) await hit(port, key('a', n++));
    const discarded = (await zone(port)).discarded;
    await until('every key to expire', async () => Object.keys((await zone(port)).metrics).length === 0);
    // As many keys of the same length as fitted before (the n-th was discarded).
    for (let i = 0; i < n - 1; i++) await hit(port, key('b', i));
    const z = await zone(port);
    expect(z.discarded).toBe(discarded);
    expect(Object.keys(z.metrics).length).toBe(n - 1);
  }, 60_000);

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
  });

  it('a restart keeps each key\'s last update time: the ttl counts from the update, not from the restart', async () => {
    const TTL = 4000;
    const { prefix } = makePrefix('');
    let port = await start(`metric_zone z:1m ttl=${TTL}ms count;`, prefix);
    await hit(port, 'k');
    const updatedAt = Date.now();
    // The restart must come well after the update for the two clocks to differ measurably.
    await sleep(2500);
    await proxy!.stop('SIGQUIT');
    port = await start(`metric_zone z:1m ttl=${TTL}ms count;`, prefix);
    const restartedAt = Date.now();
    await until('k to expire', async () => (await zone(port)).metrics.k === undefined);
    const goneAt = Date.now();
    expect(goneAt).toBeGreaterThanOrEqual(updatedAt + TTL - 100);
    expect(goneAt).toBeLessThan(restartedAt + TTL - 1000);
  }, 60_000);
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
