import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { approx } from '../helpers/examples';
import { freePorts, getJson, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';

let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.stop('SIGTERM');
  proxy = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ZONES_A = `
  metric_zone keep:1m count;
  metric_zone resized:1m count;
  metric_zone remoded:1m count;
  metric_zone reparam:1m average exp factor=50;
  metric_complex_zone resub:1m { a count; b max; }
  metric_zone reexpire:1m count;`;

const ZONES_B = `
  metric_zone keep:1m count;
  metric_zone resized:2m count;
  metric_zone remoded:1m gauge;
  metric_zone reparam:1m average exp factor=60;
  metric_complex_zone resub:1m { a count; b max; c min; }
  metric_zone reexpire:1m expire=on count;`;

const conf = (port: number, zones: string, workers = 2) => `
worker_processes ${workers};
http {
  ${zones}
  server {
    listen 127.0.0.1:${port};
    location /hit {
      metric keep k; metric resized k; metric remoded k; metric reparam k=10; metric resub k=5; metric reexpire k;
      return 204;
    }
    location /api/ { api /status/http/metric_zones/; }
  }
}`;

type Zones = Record<string, { discarded: number; metrics: Record<string, unknown> }>;

async function zones(port: number): Promise<Zones> {
  return (await getJson(`http://127.0.0.1:${port}/api/`)) as Zones;
}

async function hits(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await request(`http://127.0.0.1:${port}/hit`)).status).toBe(204);
}

async function untilTrue(probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(50);
  }
}

describe('zone data across reload (metric.md, Lifetime)', () => {
  it('kept when unchanged; emptied when size, mode, a parameter or the sub-metric list changed', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(conf(port, ZONES_A), [port]);
    await hits(port, 3);
    approx((await zones(port)).keep.metrics, { k: 3 });
    fs.writeFileSync(proxy.conf, conf(port, ZONES_B));
    expect((await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload'])).code).toBe(0);
    // Only the new generation answers once every read shows the resized zone emptied.
    await untilTrue(async () => {
      const reads = await Promise.all(Array.from({ length: 10 }, () => zones(port)));
      return reads.every((z) => Object.keys(z.resized.metrics).length === 0);
    });
    await hits(port, 1);
    const z = await zones(port);
    approx(z.keep.metrics, { k: 4 });
    approx(z.reexpire.metrics, { k: 4 }); // expire is not part of the definition: kept
    approx(z.resized.metrics, { k: 1 });
    approx(z.remoded.metrics, { k: 0 }); // gauge of an empty value
    approx(z.reparam.metrics, { k: 10 });
    approx(z.resub.metrics, { k: { a: 1, b: 5, c: 5 } });
  });
});

describe('persistence', () => {
  it('counts survive stop + start, and kill -9 of the master and its workers', async () => {
    const [port] = await freePorts(1);
    const { prefix } = makePrefix('');
    proxy = await startProxy(conf(port, ZONES_A), [port], { prefix });
    await hits(port, 5);
    await proxy.stop('SIGQUIT');
    proxy = await startProxy(conf(port, ZONES_A), [port], { prefix });
    approx((await zones(port)).keep.metrics, { k: 5 });
    await hits(port, 2);
    const master = proxy.child.pid!;
    const workers = execFileSync('pgrep', ['-P', String(master)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    for (const pid of [master, ...workers]) process.kill(pid, 'SIGKILL');
    await proxy.stop('SIGKILL');
    await untilTrue(async () => workers.every((pid) => !fs.existsSync(`/proc/${pid}`)));
    proxy = await startProxy(conf(port, ZONES_A), [port], { prefix });
    const z = await zones(port);
    approx(z.keep.metrics, { k: 7 });
    approx(z.resub.metrics, { k: { a: 7, b: 5 } });
  });
});

describe('exactness under concurrency', () => {
  it('2 workers, 16 concurrent clients, 20,000 requests: count is exactly 20,000 and the +1/-1 gauge returns to 0', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(
      `worker_processes 2;
http {
  metric_zone total:1m count;
  metric_zone inflight:1m gauge;
  server {
    listen 127.0.0.1:${port};
    location /work { metric total all; metric inflight now=1 on=request; metric inflight now=-1 on=end; return 200 "ok"; }
    location /api/ { api /status/http/metric_zones/; }
  }
}`,
      [port],
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const get = () =>
      new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/work', agent }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
          })
          .on('error', reject);
      });
    const TOTAL = 20_000;
    let next = 0;
    const client = async () => {
      while (next < TOTAL) {
        next++;
        await get();
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
    agent.destroy();
    const z = await zones(port);
    approx(z.total.metrics, { all: TOTAL });
    approx(z.inflight.metrics, { now: 0 });
  }, 120_000);
});
