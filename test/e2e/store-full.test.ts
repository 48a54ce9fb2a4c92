import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, getJson, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';
import { smallDisk } from '../helpers/sys';

/**
 * When the store cannot take an update — its size (`metric_store PATH
 * size=`) is reached, or the disk is full — the update is lost but never
 * silently: counted in /status/store/, one [crit] line per cause, and the
 * proxy keeps answering; writing resumes when the cause clears.
 */

interface StoreStatus {
  commits: number;
  failures: number;
  lost_updates: number;
  used: number;
  size: number;
}

const conf = (port: number, store: string) => `
worker_processes 1;
error_log logs/error.log notice;
http {
  ${store}
  metric_zone big:16m count;
  server {
    listen 127.0.0.1:${port};
    location /w { metric big $arg_k; return 204; }
    location /api/ { api /status/; }
  }
}`;

const longKey = (i: number) => `${'k'.repeat(120)}-${i}`;

const proxies: Proxy[] = [];
const cleanups: Array<() => void> = [];
afterAll(async () => {
  for (const p of proxies) await p.stop();
  for (const c of cleanups) c();
});

async function start(store: string): Promise<{ proxy: Proxy; port: number; status: () => Promise<StoreStatus> }> {
  const [port] = await freePorts(1);
  const proxy = await startProxy(conf(port, store), [port]);
  proxies.push(proxy);
  return { proxy, port, status: async () => (await getJson(proxy.url(port, '/api/store/'))) as StoreStatus };
}

/** Sends requests with new keys from `from` on until `done` holds (checked every 50), all answered 204. */
async function flood(proxy: Proxy, port: number, from: number, done: () => Promise<boolean>, max = 20_000): Promise<number> {
  let i = from;
  while (i < from + max) {
    for (const end = i + 50; i < end; i++) expect((await request(proxy.url(port, `/w?k=${longKey(i)}`))).status).toBe(204);
    if (await done()) return i;
  }
  throw new Error(`still not done after ${max} new keys`);
}

const errorLog = (proxy: Proxy) => fs.readFileSync(path.join(proxy.prefix, 'logs/error.log'), 'utf8').split('\n');
const zoneCount = async (proxy: Proxy, port: number, key: string) =>
  ((await getJson(proxy.url(port, '/api/http/metric_zones/big/metrics/'))) as Record<string, number>)[key];

describe('metric_store size=', () => {
  it('a full store: new keys are lost and counted, [crit] once, existing keys still count, the proxy keeps serving', async () => {
    const { proxy, port, status } = await start('metric_store data size=256k;');
    expect((await status()).size).toBe(256 * 1024);
    const next = await flood(proxy, port, 0, async () => (await status()).lost_updates > 0);

    // Full: every further new key is lost, each one counted; the requests are still answered.
    const before = await status();
    await flood(proxy, port, next, async () => true);
    const after = await status();
    expect(after.lost_updates - before.lost_updates).toBe(50);
    expect(after.failures).toBe(0);
    expect(after.used).toBeGreaterThanOrEqual(after.size);
    expect(await zoneCount(proxy, port, longKey(next))).toBeUndefined();

    // A key stored before still counts.
    const early = (await zoneCount(proxy, port, longKey(0)))!;
    expect((await request(proxy.url(port, `/w?k=${longKey(0)}`))).status).toBe(204);
    expect(await zoneCount(proxy, port, longKey(0))).toBe(early + 1);

    const log = errorLog(proxy);
    expect(log.filter((l) => l.includes('[crit]'))).toHaveLength(1);
    expect(log.find((l) => l.includes('[crit]'))).toContain(`metric store "${fs.realpathSync(proxy.prefix)}/data/data.mdb" is full (`);
    expect(log.filter((l) => l.includes('[warn]') && l.includes('is nearly full'))).toHaveLength(1);
  });

  it('rejects a size that is too small or not a size', async () => {
    for (const [arg, error] of [
      ['size=64k', 'metric store size is too small, at least 131072 bytes expected'],
      ['size=lots', 'invalid store size "lots"'],
      ['bytes=1m', 'invalid parameter "bytes=1m"'],
    ]) {
      const { prefix, conf: file } = makePrefix(conf(1, `metric_store data ${arg};`));
      cleanups.push(() => fs.rmSync(prefix, { recursive: true, force: true }));
      const r = await runCli(['-p', prefix, '-c', file, '-t']);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe(`metricproxy: [emerg] ${error} in ${file}:5`);
    }
  });
});

describe('a full disk (a 1 MiB tmpfs; needs root to mount it)', () => {
  it('failed commits are counted and logged once; writing resumes when space is freed', async () => {
    // Most of the disk taken by something else, freed later.
    const { mnt, filler } = smallDisk(cleanups);
    const { proxy, port, status } = await start(`metric_store ${mnt}/data;`);
    const next = await flood(proxy, port, 0, async () => (await status()).failures > 0);
    await flood(proxy, port, next, async () => true);
    const full = await status();
    expect(full.lost_updates).toBeGreaterThanOrEqual(50);
    // One line per cause (a full tmpfs gives ENOSPC, and EIO for a page written in part), never repeated.
    const causes = errorLog(proxy)
      .filter((l) => l.includes('[crit]'))
      .map((l) => /commit failed \(([^)]*)\)/.exec(l)?.[1]);
    expect(causes.length).toBeGreaterThan(0);
    for (const cause of causes) expect(cause).toMatch(/^(No space left on device|Input\/output error)$/);
    expect(new Set(causes).size).toBe(causes.length);

    fs.rmSync(filler);
    const resumed = next + 50;
    expect((await request(proxy.url(port, `/w?k=${longKey(resumed + 1)}`))).status).toBe(204);
    expect(await zoneCount(proxy, port, longKey(resumed + 1))).toBe(1);
    expect((await status()).failures).toBe(full.failures);
    await proxies.pop()!.stop();
  });
});
