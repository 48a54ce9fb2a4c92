import * as http from 'node:http';
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterRequestHead, recordingBackend, startKeepAliveClosing, TcpBackend, tcpBackend } from '../helpers/backends';
import { freePorts, getJson, Proxy, request, startProxy } from '../helpers/proc';
import { fdCount, waitFor } from '../helpers/sys';

/**
 * Upstreams that fail: refuse, reset (before and during the response),
 * hang, answer garbage, close keep-alive connections. The client gets
 * nginx's 502/504 (or a cut connection once the head is out), the next peer
 * is tried per proxy_next_upstream with both listed in $upstream_addr, the
 * status tree shows the failed peer, and no socket is left behind.
 */

const READ_TIMEOUT = '300ms';

let proxy: Proxy;
let port: number;
let deadPort: number;
let workerPid: number;
let good: Awaited<ReturnType<typeof recordingBackend>>;
const faulty: Record<string, TcpBackend> = {};
const url = (p: string) => `http://127.0.0.1:${port}${p}`;

const RESPONSE_HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n';

/** Each misbehaviour, as what a raw upstream does once it has read a request head. */
const MISBEHAVIOURS: Record<string, (s: net.Socket) => void> = {
  reset: (s) => afterRequestHead(s, () => s.resetAndDestroy()),
  midreset: (s) => afterRequestHead(s, () => s.write(RESPONSE_HEAD + 'x'.repeat(1000), () => s.resetAndDestroy())),
  hang: () => undefined,
  garbage: (s) => afterRequestHead(s, () => s.write('SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n')),
};

function upstreams(): string {
  const pair = (name: string, bad: number) => `upstream ${name} { server 127.0.0.1:${bad}; server 127.0.0.1:${good.port}; }`;
  return [
    pair('refused_then_good', deadPort),
    pair('reset_then_good', faulty.reset.port),
    pair('hang_then_good', faulty.hang.port),
    pair('garbage_then_good', faulty.garbage.port),
    pair('garbage_no_retry', faulty.garbage.port),
  ].join('\n  ');
}

beforeAll(async () => {
  good = await recordingBackend();
  for (const [name, behave] of Object.entries(MISBEHAVIOURS)) faulty[name] = await tcpBackend(behave);
  faulty.stale = await startKeepAliveClosing();
  faulty.staleOff = await startKeepAliveClosing();
  [port, deadPort] = await freePorts(2);
  const direct = (name: string, extra = '') => `location /${name} { proxy_pass http://127.0.0.1:${faulty[name].port}; ${extra} }`;
  proxy = await startProxy(
    `
http {
  add_header X-Up "$upstream_addr|$upstream_status" always;
  proxy_read_timeout ${READ_TIMEOUT};
  ${upstreams()}
  server {
    listen 127.0.0.1:${port};
    location = /pid { return 200 $pid; }
    location /refused { proxy_pass http://127.0.0.1:${deadPort}; }
    ${direct('reset')}
    ${direct('midreset')}
    ${direct('hang')}
    ${direct('garbage')}
    ${direct('stale')}
    location /stale-off { proxy_pass http://127.0.0.1:${faulty.staleOff.port}; proxy_next_upstream off; }
    location /next/refused { proxy_pass http://refused_then_good; }
    location /next/reset { proxy_pass http://reset_then_good; }
    location /next/hang { proxy_pass http://hang_then_good; }
    location /next/garbage { proxy_pass http://garbage_then_good; proxy_next_upstream error timeout invalid_header; }
    location /nonext/garbage { proxy_pass http://garbage_no_retry; }
    location /status/ { api /status/; }
  }
}`,
    [port],
  );
  workerPid = Number((await request(url('/pid'))).body);
});

afterAll(async () => {
  await proxy?.stop();
  await good?.close();
  for (const b of Object.values(faulty)) await b.close();
});

const up = (r: { headers: http.IncomingHttpHeaders }) => r.headers['x-up'];
const addr = (p: number) => `127.0.0.1:${p}`;

describe('a failing upstream → the right status', () => {
  it.each([
    ['refused', 502, () => deadPort],
    ['reset', 502, () => faulty.reset.port],
    ['hang', 504, () => faulty.hang.port],
    ['garbage', 502, () => faulty.garbage.port],
  ])('%s → %i', async (name, status, peerPort) => {
    const r = await request(url(`/${name}`));
    expect(r.status).toBe(status);
    expect(up(r)).toBe(`${addr(peerPort())}|${status}`);
  });

  it('a reset after the head is out → the client sees its response cut', async () => {
    const outcome = await new Promise<string>((resolve) => {
      http.get(url('/midreset'), { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve(`complete ${bytes}`));
        res.on('error', () => resolve(`cut ${res.statusCode} after ${bytes}`));
      }).on('error', (e) => resolve(`error ${e.message}`));
    });
    expect(outcome).toMatch(/^cut 200 after \d+$/);
  });
});

describe('proxy_next_upstream: the next peer is tried, both are listed', () => {
  it.each([
    ['refused', 502, () => deadPort],
    ['reset', 502, () => faulty.reset.port],
    ['hang', 504, () => faulty.hang.port],
    ['garbage', 502, () => faulty.garbage.port],
  ])('%s, then the good peer', async (name, status, peerPort) => {
    const r = await request(url(`/next/${name}`));
    expect(r.status).toBe(200);
    expect(r.body).toBe(`ok /next/${name}`);
    expect(up(r)).toBe(`${addr(peerPort())}, ${addr(good.port)}|${status}, 200`);
  });

  it('invalid_header is not retried unless named (nginx default: error timeout)', async () => {
    const r = await request(url('/nonext/garbage'));
    expect(r.status).toBe(502);
    expect(up(r)).toBe(`${addr(faulty.garbage.port)}|502`);
  });

  it('the status tree shows the failed peer unavailable, the good one up', async () => {
    type Peer = { state: string; health: { fails: number; unavailable: number } };
    const peers = await waitFor(async () => {
      const p = (await getJson(url('/status/http/upstreams/refused_then_good/peers/'))) as Record<string, Peer>;
      return p[addr(deadPort)]?.health.fails >= 1 ? p : undefined;
    }, 5000, 'the status store shows the failure');
    expect(peers[addr(deadPort)]).toMatchObject({ state: 'unavailable', health: { fails: 1, unavailable: 1 } });
    expect(peers[addr(good.port)]).toMatchObject({ state: 'up', health: { fails: 0 } });
  });
});

describe('an upstream that closes keep-alive connections', () => {
  it('a request on a connection the upstream just closed is retried on a new one (nginx: cached peer)', async () => {
    // The upstream answers the first request of each connection and closes on the second.
    expect((await request(url('/stale'))).body).toBe('fresh');
    const r = await request(url('/stale'));
    expect(r.status).toBe(200);
    expect(r.body).toBe('fresh');
    const peer = addr(faulty.stale.port);
    expect(up(r)).toBe(`${peer}, ${peer}|502, 200`);
  });

  it('… unless proxy_next_upstream is off', async () => {
    expect((await request(url('/stale-off'))).status).toBe(200);
    expect((await request(url('/stale-off'))).status).toBe(502);
  });

  it('under load: 2,000 requests, 16 at a time, all answered 200', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const statuses: Record<number, number> = {};
    let next = 0;
    const client = async () => {
      while (next++ < 2000) {
        const status = await new Promise<number>((resolve) =>
          http.get(url('/stale'), { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', () => resolve(-1)),
        );
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
    agent.destroy();
    expect(statuses).toEqual({ 200: 2000 });
  });
});

describe('no socket is left behind', () => {
  it('100 rounds of every fault leave the worker with the descriptors it had', async () => {
    await request(url(`/next/refused`)); // warm the pools
    const before = fdCount(workerPid);
    for (let i = 0; i < 100; i++) {
      await Promise.all(['/refused', '/reset', '/garbage', '/midreset', '/stale'].map((p) => request(url(p)).catch(() => undefined)));
    }
    await Promise.all(Array.from({ length: 10 }, () => request(url('/hang'))));
    // Idle keep-alive connections to the upstreams may stay (undici reaps them after 4 s), nothing else.
    await waitFor(() => (fdCount(workerPid) <= before + 2 ? true : undefined), 10_000, 'worker fds back');
  });
});
