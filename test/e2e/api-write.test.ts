import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, makePrefix, Proxy, Reply, runCli, startProxy } from '../helpers/proc';

let proxy: Proxy | undefined;
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  await proxy?.stop('SIGTERM');
  proxy = undefined;
});

const conf = (port: number, write: string) => `
worker_processes 2;
error_log logs/error.log notice;
http {
  metric_zone z:1m count;
  metric_zone tiny:32k count;
  server {
    listen 127.0.0.1:${port};
    location /hit/ { metric z $arg_k; return 204; }
    location /fill/ { metric tiny $arg_k; return 204; }
    location /pid { return 200 $pid; }
    location /api/ { api /status/http/metric_zones/ ${write}; }
    location /status/ { api /status/ ${write}; }
  }
}`;

/** One keep-alive connection, so every request on it reaches the same worker. */
interface Pinned {
  pid: string;
  send(method: string, p: string): Promise<Reply>;
}

function pinnedClient(port: number): Pinned & { agent: http.Agent } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  const send = (method: string, p: string) =>
    new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: p, method, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end();
    });
  return { pid: '', agent, send };
}

/** Two clients, each held on a different worker. */
async function clientsOnBothWorkers(port: number): Promise<[Pinned, Pinned]> {
  const first = pinnedClient(port);
  first.pid = (await first.send('GET', '/pid')).body;
  for (let tries = 0; tries < 200; tries++) {
    const other = pinnedClient(port);
    other.pid = (await other.send('GET', '/pid')).body;
    if (other.pid !== first.pid) return [first, other];
    other.agent.destroy();
  }
  throw new Error('never reached a second worker');
}

type Zone = { discarded: number; metrics: Record<string, number> };

async function zoneOn(c: Pinned, name: string): Promise<Zone> {
  const r = await c.send('GET', `/api/${name}`);
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as Zone;
}

async function hit(c: Pinned, key: string): Promise<void> {
  expect((await c.send('GET', `/hit/?k=${key}`)).status).toBe(204);
}

async function start(write: string): Promise<{ port: number; a: Pinned; b: Pinned }> {
  const [port] = await freePorts(1);
  proxy = await startProxy(conf(port, write), [port]);
  const [a, b] = await clientsOnBothWorkers(port);
  return { port, a, b };
}

function errorLog(): string {
  return fs.readFileSync(path.join(proxy!.prefix, 'logs/error.log'), 'utf8');
}

describe('api without write=on (read-only, as Angie)', () => {
  it.each(['', 'write=off'])('"%s": every method but GET/HEAD is 405 with a JSON error, data untouched', async (write) => {
    const { a } = await start(write);
    await hit(a, 'k');
    for (const method of ['DELETE', 'POST', 'PUT', 'PATCH']) {
      const r = await a.send(method, '/api/z/metrics/k');
      expect(r.status).toBe(405);
      expect(r.headers['content-type']).toBe('application/json');
      expect(JSON.parse(r.body)).toEqual({
        error: 'MethodNotAllowed',
        description: `The ${method} method is not allowed for the requested API entity "/status/http/metric_zones/z/metrics/k".`,
      });
    }
    expect((await zoneOn(a, 'z')).metrics).toEqual({ k: 1 });
    expect((await a.send('HEAD', '/api/z')).status).toBe(200);
  });
});

describe('api write=on: DELETE on metric zones', () => {
  it('removes one key; the other worker sees it gone at once; logged at notice with the client address', async () => {
    const { a, b } = await start('write=on');
    await hit(a, 'gone');
    await hit(b, 'gone');
    await hit(b, 'kept');
    const del = await a.send('DELETE', '/api/z/metrics/gone');
    expect(del.status).toBe(204);
    expect(del.body).toBe('');
    expect((await zoneOn(b, 'z')).metrics).toEqual({ kept: 1 });
    expect((await b.send('GET', '/api/z/metrics/gone')).status).toBe(404);
    // A removed key starts afresh.
    await hit(b, 'gone');
    expect((await zoneOn(a, 'z')).metrics).toEqual({ kept: 1, gone: 1 });
    expect(errorLog()).toMatch(/\[notice\] \d+#0: api: "\/status\/http\/metric_zones\/z\/metrics\/gone" reset by client 127\.0\.0\.1/);
    // A key from the request cannot break the log line: quotes (and control bytes) are escaped.
    await hit(a, 'q"');
    expect((await a.send('DELETE', '/api/z/metrics/q%22')).status).toBe(204);
    expect(errorLog()).toContain('api: "/status/http/metric_zones/z/metrics/q\\x22" reset by client');
  });

  it('empties a zone: keys and discarded, seen by the other worker at once', async () => {
    const { a, b } = await start('write=on');
    const long = 'x'.repeat(200);
    for (let i = 0; (await zoneOn(a, 'tiny')).discarded === 0; i++) await a.send('GET', `/fill/?k=${long}${i}`);
    expect(Object.keys((await zoneOn(b, 'tiny')).metrics).length).toBeGreaterThan(0);
    expect((await a.send('DELETE', '/api/tiny')).status).toBe(204);
    expect(await zoneOn(b, 'tiny')).toEqual({ discarded: 0, metrics: {} });
    // Its room is free again: a key fits without being discarded.
    await b.send('GET', `/fill/?k=${long}`);
    expect(await zoneOn(a, 'tiny')).toEqual({ discarded: 0, metrics: { [long]: 1 } });
    expect(errorLog()).toContain('api: "/status/http/metric_zones/tiny" reset by client 127.0.0.1');
  });

  it('404 for what does not exist, 405 where a branch cannot be reset, JSON bodies', async () => {
    const { a } = await start('write=on');
    await hit(a, 'k');
    const notFound = await a.send('DELETE', '/api/z/metrics/nope');
    expect(notFound.status).toBe(404);
    expect(notFound.headers['content-type']).toBe('application/json');
    expect(JSON.parse(notFound.body)).toEqual({
      error: 'PathNotFound',
      description: 'Requested API entity "/status/http/metric_zones/z/metrics/nope" doesn\'t exist.',
    });
    expect((await a.send('DELETE', '/api/nozone')).status).toBe(404);
    for (const p of ['/api/z/discarded', '/api/', '/status/', '/status/angie', '/status/connections/accepted']) {
      const r = await a.send('DELETE', p);
      expect(r.status, p).toBe(405);
      expect(JSON.parse(r.body).error).toBe('MethodNotAllowed');
    }
    expect(JSON.parse((await a.send('DELETE', '/status/')).body).description).toBe(
      'The DELETE method is not allowed for the requested API entity "/status/".',
    );
    // Other methods stay 405 with write=on.
    expect((await a.send('POST', '/api/z')).status).toBe(405);
    expect((await zoneOn(a, 'z')).metrics).toEqual({ k: 1 });
  });

  it('a DELETE racing with updates on both workers loses no update made after it', async () => {
    const { port, a } = await start('write=on');
    const [c1, c2] = await clientsOnBothWorkers(port);
    let deleteSent = Infinity;
    let deleteDone = Infinity;
    let startedAfter = 0;
    let finishedAfterSent = 0;
    let stop = false;
    const load = async (c: Pinned) => {
      while (!stop) {
        const startedAt = performance.now();
        await hit(c, 'n');
        if (startedAt > deleteDone) startedAfter++;
        if (performance.now() > deleteSent) finishedAfterSent++;
      }
    };
    const running = [load(c1), load(c2), load(c1), load(c2)];
    while (((await zoneOn(a, 'z')).metrics.n ?? 0) < 200);
    deleteSent = performance.now();
    expect((await a.send('DELETE', '/api/z')).status).toBe(204);
    deleteDone = performance.now();
    while (startedAfter < 200) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await Promise.all(running);
    const n = (await zoneOn(a, 'z')).metrics.n;
    // Every update of a request started after the DELETE answered is there; none from before it was sent.
    expect(n).toBeGreaterThanOrEqual(startedAfter);
    expect(n).toBeLessThanOrEqual(finishedAfterSent);
  }, 60_000);
});

describe('api write= bad input', () => {
  it('an unknown write= value is one [emerg] line', async () => {
    const { prefix, conf: file } = makePrefix('http {\n  server {\n    listen 127.0.0.1:1;\n    location /api/ { api /status/ write=yes; }\n  }\n}\n');
    const r = await runCli(['-p', prefix, '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`metricproxy: [emerg] invalid parameter "write=yes" in ${file}:4`);
  });
});
