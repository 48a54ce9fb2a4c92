import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, startBackend, startProxy } from '../helpers/proc';
import { RefNginx, startNginx } from '../helpers/nginx-ref';
import { waitFor } from '../helpers/sys';

/**
 * The balancers against the real nginx: with the same peer list, `hash KEY`
 * and `hash KEY consistent` send every key to the same backend as nginx
 * does; `least_conn` sends new requests away from a peer that holds one.
 */

type NamedBackend = Awaited<ReturnType<typeof startBackend>>;

const CONSISTENT_KEYS = 1500;
const PLAIN_KEYS = 400;

let backends: NamedBackend[] = [];
let nginx: RefNginx | undefined;
let proxy: Proxy | undefined;
let nginxPort: number;
let proxyPort: number;

/** The same upstream blocks for both servers: three peers, one of weight 2, hashed on ?user=. */
function upstreams(): string {
  const servers = backends.map((b, i) => `server 127.0.0.1:${b.port}${i === 1 ? ' weight=2' : ''};`).join(' ');
  return `
  upstream ketama { hash $arg_user consistent; ${servers} }
  upstream crc { hash $arg_user; ${servers} }`;
}

const locations = `
    location /consistent { proxy_pass http://ketama; }
    location /plain { proxy_pass http://crc; }`;

beforeAll(async () => {
  backends = await Promise.all(['one', 'two', 'three'].map((name) => startBackend((_req, res) => res.end(name))));
  [nginxPort, proxyPort] = await freePorts(2);
  nginx = await startNginx(`${upstreams()}\n  server {\n    listen 127.0.0.1:${nginxPort};${locations}\n  }`, nginxPort);
  proxy = await startProxy(`worker_processes 2;\nhttp {${upstreams()}\n  server {\n    listen 127.0.0.1:${proxyPort};${locations}\n  }\n}`, [proxyPort]);
});

afterAll(async () => {
  await proxy?.stop();
  await nginx?.stop();
  for (const b of backends) await b.close();
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      })
      .on('error', reject);
  });
}

/** Which backend each key lands on, asked with a few requests in parallel. */
async function placement(port: number, location: string, keys: string[]): Promise<string[]> {
  const out: string[] = new Array(keys.length);
  let next = 0;
  const lane = async () => {
    while (next < keys.length) {
      const i = next++;
      out[i] = await get(port, `${location}?user=${keys[i]}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return out;
}

/** Plain keys, and some that hash as raw bytes: escapes stay undecoded in $arg_user. */
function keys(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i % 10 === 0 ? `u%20${i}%C3%A9` : `user${i}`));
}

describe('hash balancers place keys as nginx does', () => {
  it(`hash $arg_user consistent: ${CONSISTENT_KEYS} keys on the same peers as nginx`, async () => {
    const k = keys(CONSISTENT_KEYS);
    const ours = await placement(proxyPort, '/consistent', k);
    const theirs = await placement(nginxPort, '/consistent', k);
    expect(new Set(theirs)).toEqual(new Set(['200 one', '200 two', '200 three']));
    const differing = k.filter((_, i) => ours[i] !== theirs[i]);
    expect(differing).toEqual([]);
  }, 120_000);

  it(`hash $arg_user: ${PLAIN_KEYS} keys on the same peers as nginx`, async () => {
    const k = keys(PLAIN_KEYS);
    const ours = await placement(proxyPort, '/plain', k);
    const theirs = await placement(nginxPort, '/plain', k);
    expect(new Set(theirs).size).toBe(3);
    expect(k.filter((_, i) => ours[i] !== theirs[i])).toEqual([]);
  }, 120_000);
});

describe('least_conn', () => {
  let lc: Proxy | undefined;
  let release: () => void = () => undefined;
  let held = 0;
  afterAll(async () => {
    release();
    await lc?.stop();
  });

  it('sends new requests to the peer with fewer in flight, and counts them per peer', async () => {
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = await startBackend((_req, res) => {
      held++;
      void gate.then(() => res.end('slow'));
    });
    const fast = await startBackend((_req, res) => res.end('fast'));
    backends.push(slow, fast);
    const [port, api] = await freePorts(2);
    lc = await startProxy(
      `worker_processes 1;
http {
  upstream lc { least_conn; server 127.0.0.1:${slow.port}; server 127.0.0.1:${fast.port}; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://lc; } }
  server { listen 127.0.0.1:${api}; location /status/ { api /status/; } }
}`,
      [port, api],
    );
    // Nothing in flight: the tie goes round-robin, to the first peer, which holds the request.
    const pending = request(`http://127.0.0.1:${port}/held`);
    await waitFor(() => (held === 1 ? true : undefined), 30_000, 'the slow peer to hold a request');
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push((await request(`http://127.0.0.1:${port}/n${i}`)).body);
    expect(answers).toEqual(new Array(6).fill('fast'));
    release();
    expect((await pending).body).toBe('slow');
    type Peers = Record<string, { selected: { total: number } }>;
    const peers = (await getJson(`http://127.0.0.1:${api}/status/http/upstreams/lc/peers`)) as Peers;
    expect(peers[`127.0.0.1:${slow.port}`].selected.total).toBe(1);
    expect(peers[`127.0.0.1:${fast.port}`].selected.total).toBe(6);
  }, 60_000);
});
