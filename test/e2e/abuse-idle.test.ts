import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, pidAt, Proxy, request, startOnFreePort } from '../helpers/proc';
import { connect } from '../helpers/raw';
import { fdCount, memoryMiB, waitFor } from '../helpers/sys';

/**
 * Many idle keep-alive connections: 10,000 clients each make one request
 * and then hold their connection open. The worker keeps them all (this
 * machine allows 20,000 descriptors per process, so 10,000 on each side
 * fit), still answers everyone else, serves the idle ones when they speak
 * again, and gives every descriptor back when they leave.
 */

const IDLE = 10_000;
/** Connections opened at once: the listen backlog and the client's own loop stay comfortable. */
const BATCH = 500;

let proxy: Proxy;
let port: number;
let workerPid: number;
const url = (p: string) => `http://127.0.0.1:${port}${p}`;

beforeAll(async () => {
  ({ proxy, port } = await startOnFreePort(
    (port) => `
events { worker_connections 12000; }
http {
  server {
    listen 127.0.0.1:${port};
    location = /pid { return 200 $pid; }
    location / { return 200 "ok"; }
    location /status/ { api /status/; }
  }
}`,
  ));
  workerPid = await pidAt(url('/pid'));
});

afterAll(async () => proxy?.stop());

/** One keep-alive GET on an open socket; resolves when the 2-byte body has arrived. */
function getOn(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (!text.endsWith('\r\n\r\nok')) return;
      socket.off('data', onData);
      resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

async function openIdle(n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let done = 0; done < n; done += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, n - done) }, () => connect(port)));
    await Promise.all(batch.map(getOn));
    sockets.push(...batch);
  }
  return sockets;
}

type Connections = { active: number; idle: number; dropped: number };

describe(`${IDLE} idle keep-alive connections`, () => {
  it('are all held, others are still served, idle ones are served again, and every fd comes back', async () => {
    const fdsBefore = fdCount(workerPid);
    const rssBefore = memoryMiB(workerPid);
    const sockets = await openIdle(IDLE);
    try {
      // Give or take the worker's other descriptors coming and going (the /pid probe's connection closing).
      expect(fdCount(workerPid) - fdsBefore).toBeGreaterThanOrEqual(IDLE - 10);
      const conns = await waitFor(async () => {
        const c = (await getJson(url('/status/connections'))) as Connections;
        return c.idle >= IDLE ? c : undefined;
      }, 10_000, 'status shows the idle connections');
      expect(conns.dropped).toBe(0);
      // A newcomer is answered while 10,000 others wait.
      expect((await request(url('/'))).body).toBe('ok');
      // Idle clients that speak again are answered on the connection they kept.
      await Promise.all(sockets.filter((_s, i) => i % 100 === 0).map(getOn));
      const rssHeld = memoryMiB(workerPid);
      console.log(`${IDLE} idle connections: worker fds +${fdCount(workerPid) - fdsBefore}, RSS ${rssBefore.toFixed(1)} → ${rssHeld.toFixed(1)} MiB`);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // Every descriptor comes back once the clients are gone.
    await waitFor(() => (fdCount(workerPid) <= fdsBefore + 2 ? true : undefined), 10_000, 'worker fds back to where they were');
  }, 60_000);
});
