import * as fs from 'node:fs';
import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { approx } from '../helpers/examples';
import { freePorts, getJson, makePrefix, Proxy, request, runCli, startBackend, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * The suite's blind spots (issue 10 item 9): `on=response` timing, reloads
 * that change only one mode parameter, and the metric directives' errors
 * through a real config load.
 */

let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.stop('SIGTERM');
  proxy = undefined;
});

type Zones = Record<string, { metrics: Record<string, unknown> }>;
const zones = async (port: number) => (await getJson(`http://127.0.0.1:${port}/api/`)) as Zones;

describe('metric ... on=response', () => {
  it('runs when the head goes out — status and upstream status known, body still streaming — before on=end', async () => {
    let finish: () => void = () => undefined;
    const backend = await startBackend((_req, res) => {
      res.writeHead(201, { 'content-type': 'text/plain' });
      res.write('head out;');
      finish = () => res.end('done');
    });
    const [port] = await freePorts(1);
    proxy = await startProxy(
      `
http {
  metric_zone at_response:1m count;
  metric_zone at_end:1m count;
  server {
    listen 127.0.0.1:${port};
    location /stream { metric at_response $status/$upstream_status on=response; metric at_end $status; proxy_pass http://127.0.0.1:${backend.port}; }
    location /missing { metric at_response missing-$status on=response; return 404; }
    location /api/ { api /status/http/metric_zones/; }
  }
}`,
      [port],
    );
    try {
      const body = await new Promise<string>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/stream`, (res) => {
          let text = '';
          res.setEncoding('latin1');
          res.on('data', async (c: string) => {
            text += c;
            if (text !== 'head out;') return;
            // The client holds the head and the first bytes: on=response has run, on=end not yet.
            const z = await zones(port);
            approx(z.at_response.metrics, { '201/201': 1 });
            approx(z.at_end.metrics, {});
            finish();
          });
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect(body).toBe('head out;done');
      await waitFor(async () => ((await zones(port)).at_end.metrics['201'] === 1 ? true : undefined), 5000, 'on=end update');
      expect((await request(`http://127.0.0.1:${port}/missing`)).status).toBe(404);
      approx((await zones(port)).at_response.metrics, { '201/201': 1, 'missing-404': 1 });
    } finally {
      await backend.close();
    }
  });
});

describe('a reload that changes one mode parameter empties that zone (metric.md, Lifetime)', () => {
  const config = (port: number, zonesText: string) => `
worker_processes 1;
http {
  ${zonesText}
  server {
    listen 127.0.0.1:${port};
    location /hit { metric bounds k=1; metric meancount k=4; metric meanwindow k=4; metric same k=4; return 204; }
    location /api/ { api /status/http/metric_zones/; }
  }
}`;
  const BEFORE = `
  metric_zone bounds:1m histogram 1 5 inf;
  metric_zone meancount:1m average mean count=4;
  metric_zone meanwindow:1m average mean window=60s;
  metric_zone same:1m average mean count=4 window=60s;`;
  const AFTER = `
  metric_zone bounds:1m histogram 1 10 inf;
  metric_zone meancount:1m average mean count=5;
  metric_zone meanwindow:1m average mean window=120s;
  metric_zone same:1m average mean count=4 window=60s;`;

  it('histogram bounds, average mean count, average mean window', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(config(port, BEFORE), [port]);
    expect((await request(`http://127.0.0.1:${port}/hit`)).status).toBe(204);
    const before = await zones(port);
    for (const z of ['bounds', 'meancount', 'meanwindow', 'same']) expect(Object.keys(before[z].metrics)).toEqual(['k']);
    fs.writeFileSync(proxy.conf, config(port, AFTER));
    expect((await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload'])).code).toBe(0);
    const after = await waitFor(async () => {
      const z = await zones(port);
      return Object.keys(z.bounds.metrics).length === 0 ? z : undefined;
    }, 15_000, 'the new generation');
    expect(after.meancount.metrics).toEqual({});
    expect(after.meanwindow.metrics).toEqual({});
    approx(after.same.metrics, { k: 4 });
    expect((await request(`http://127.0.0.1:${port}/hit`)).status).toBe(204);
    approx((await zones(port)).bounds.metrics, { k: { '1': 1, '10': 1, inf: 1 } });
  });
});

describe('metric and metric_zone errors through a real config load', () => {
  it.each([
    ['an unknown stage', 'metric_zone z:1m count;', 'metric z k on=later;', 'unknown stage "later"'],
    ['an unknown zone', 'metric_zone z:1m count;', 'metric nowhere k;', 'unknown metric zone "nowhere"'],
    ['a duplicate zone', 'metric_zone z:1m count; metric_zone z:2m gauge;', '', 'metric_zone "z" is already exists'],
    ['a zone below 32k', 'metric_zone z:16k count;', '', 'zone "z" is too small, at least 32768 bytes expected'],
  ])('%s', async (_name, httpLevel, location, message) => {
    const { prefix, conf } = makePrefix(`http {\n  ${httpLevel}\n  server {\n    listen 127.0.0.1:1;\n    location / { ${location} return 204; }\n  }\n}\n`);
    const line = location === '' ? 2 : 5;
    for (const args of [['-t'], []]) {
      const r = await runCli(['-p', prefix, '-c', conf, ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe(`metricproxy: [emerg] ${message} in ${conf}:${line}`);
    }
  });
});
