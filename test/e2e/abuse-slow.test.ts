import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proxy, request, startReturning } from '../helpers/proc';
import { closedWithin, connect } from '../helpers/raw';

/**
 * Slow clients: a slowloris sending its head a byte at a time, and clients
 * that connect and say nothing, are cut after client_header_timeout (1s
 * here) while everyone else is served as usual.
 */

let proxy: Proxy;
let port: number;

beforeAll(async () => {
  ({ proxy, port } = await startReturning('fast', 'client_header_timeout 1s;'));
});

afterAll(async () => proxy?.stop());

const HEAD = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
/** A byte every 50 ms: the whole head would take over 10 s. */
const BYTE_EVERY_MS = 50;

/** Drips HEAD into a socket; resolves with how many bytes went out before the server closed it. */
function slowloris(socket: net.Socket): Promise<number> {
  let sent = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (socket.destroyed || sent === HEAD.length) return;
      socket.write(HEAD[sent++]);
    }, BYTE_EVERY_MS);
    socket.once('close', () => {
      clearInterval(timer);
      resolve(sent);
    });
    socket.on('error', () => undefined);
    socket.resume(); // read the 408 so the server's FIN is seen
  });
}

describe('client_header_timeout', () => {
  it('slowloris clients are cut mid-head, and do not block anyone else', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(port)));
    const dripped = clients.map(slowloris);
    // While they drip, normal requests are answered (each on its own connection).
    for (let i = 0; i < 20; i++) expect((await request(`http://127.0.0.1:${port}/`)).body).toBe('fast');
    const sent = await Promise.all(dripped);
    // Every slow client was closed by the server before it could finish its head.
    for (const n of sent) expect(n).toBeLessThan(HEAD.length);
  }, 15_000);

  it('a connection that sends nothing is closed too', async () => {
    const idle = await connect(port);
    const ms = await closedWithin(idle);
    // Bounded by the timeout plus Node's check interval (a quarter of it), never the 60 s default.
    expect(ms).toBeLessThan(5000);
  });

  it('a client that keeps its head within the timeout is served', async () => {
    const socket = await connect(port);
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    // Three pieces, 100 ms apart: 200 ms in all, a fifth of the timeout (margin for a loaded machine).
    for (const piece of ['GET / HTTP/1.1\r\n', 'Host: x\r\n', 'Connection: close\r\n\r\n']) {
      socket.write(piece);
      await new Promise((r) => setTimeout(r, 100));
    }
    await closedWithin(socket);
    expect(reply.startsWith('HTTP/1.1 200')).toBe(true);
    expect(reply.endsWith('fast')).toBe(true);
  });
});
