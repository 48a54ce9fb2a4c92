import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, pidAt, Proxy, startOnFreePort } from '../helpers/proc';
import { memoryMiB } from '../helpers/sys';

/**
 * A flood of distinct keys is bounded by the zone size, in memory and on
 * disk: 1,000,000 distinct keys (100,000 requests × 10 `metric`
 * directives, ~5 s here) into a 1m expire=on zone keep the worker's RSS
 * and the LMDB file flat after a warm-up, the zone holds only what fits,
 * and no update is lost (live keys + the discard key = updates sent).
 */

const PER_REQUEST = 10;
const WARMUP_REQUESTS = 10_000;
const FLOOD_REQUESTS = 100_000;
const CLIENTS = 32;
const RSS_GROWTH_LIMIT_MIB = 50;

let proxy: Proxy;
let port: number;
let workerPid: number;
const url = (p: string) => `http://127.0.0.1:${port}${p}`;

beforeAll(async () => {
  const metrics = Array.from({ length: PER_REQUEST }, (_, i) => `metric flood $arg_k-${i};`).join(' ');
  ({ proxy, port } = await startOnFreePort(
    (port) => `
http {
  metric_zone flood:1m expire=on discard_key=old count;
  server {
    listen 127.0.0.1:${port};
    location = /pid { return 200 $pid; }
    location /f { ${metrics} return 204; }
    location /api/ { api /status/http/metric_zones/flood/; }
  }
}`,
  ));
  workerPid = await pidAt(url('/pid'));
});

afterAll(async () => proxy?.stop());

/** Sends `count` requests with keys `from`, `from+1`, ... over keep-alive connections; returns requests/s. */
async function flood(from: number, count: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const started = Date.now();
  let next = 0;
  const client = async () => {
    while (next < count) {
      const k = from + next++;
      await new Promise<void>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port, path: `/f?k=${k}`, agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
      );
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  agent.destroy();
  return count / ((Date.now() - started) / 1000);
}

const storeMiB = () => fs.statSync(path.join(proxy.prefix, 'data', 'data.mdb')).size / 1024 / 1024;

describe('a flood of distinct keys', () => {
  it(`${(FLOOD_REQUESTS * PER_REQUEST).toLocaleString('en')} distinct keys: RSS and store flat, zone bounded, nothing lost`, async () => {
    await flood(0, WARMUP_REQUESTS);
    const rssBefore = memoryMiB(workerPid);
    const storeBefore = storeMiB();
    const rate = await flood(WARMUP_REQUESTS, FLOOD_REQUESTS);
    const rssAfter = memoryMiB(workerPid);
    const storeAfter = storeMiB();
    const zone = (await getJson(url('/api/'))) as { discarded: number; metrics: Record<string, number> };
    const live = Object.keys(zone.metrics).length - 1;
    const counted = Object.values(zone.metrics).reduce((a, b) => a + b, 0);
    console.log(
      `flood: ${Math.round(rate)} req/s (${Math.round(rate * PER_REQUEST)} keys/s); RSS ${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MiB; ` +
        `store ${storeBefore.toFixed(1)} → ${storeAfter.toFixed(1)} MiB; ${live} live keys, ${zone.discarded} evicted`,
    );
    expect(rssAfter - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
    expect(storeAfter - storeBefore).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
    // A 1m zone holds about 8,000 keys of this size, whatever was sent.
    expect(live).toBeGreaterThan(5000);
    expect(live).toBeLessThan(10_000);
    const sent = (WARMUP_REQUESTS + FLOOD_REQUESTS) * PER_REQUEST;
    expect(counted).toBe(sent);
    expect(zone.metrics.old).toBe(zone.discarded);
  }, 120_000);
});
