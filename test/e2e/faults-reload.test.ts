import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Proxy, request, runCli, startReturning } from '../helpers/proc';
import { closedWithin, connect } from '../helpers/raw';
import { isAlive, waitFor } from '../helpers/sys';

/**
 * Connections open across a reload. The retiring worker closes connections
 * kept alive waiting for their next request (nginx does the same; clients
 * retry those); a connection it accepted whose request has not arrived yet
 * is not idle: that request is served. One that never speaks is closed
 * after client_header_timeout — Node's own header timer stops with the
 * server, and such a connection used to keep the old worker alive for ever.
 */

let proxy: Proxy;
let port: number;

beforeAll(async () => {
  ({ proxy, port } = await startReturning('pid $pid', 'client_header_timeout 6s;'));
});

afterAll(async () => proxy?.stop());

/** Reads from a socket until the peer closes it; resolves with everything received. */
function readAll(socket: net.Socket): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  return closedWithin(socket).then(() => text);
}

describe('reload while connections are open', () => {
  it('a connection accepted before the reload is served by the old worker; a silent one is closed; the old worker exits', async () => {
    const oldPid = Number((await request(`http://127.0.0.1:${port}/`)).body.slice(4));
    // Kept alive after one request: the old worker's drain closes it — proof its sweep has run.
    const keptAlive = await connect(port);
    const keptAliveClosed = readAll(keptAlive);
    keptAlive.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // Fresh: accepted by the old worker, its request not sent yet.
    const fresh = await connect(port);
    const freshReply = readAll(fresh);
    // Fresh and silent: closed once client_header_timeout passes.
    const silent = await connect(port);
    let silentClosed = false;
    void closedWithin(silent).then(() => (silentClosed = true));

    const reload = await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload']);
    expect(reload.code).toBe(0);
    await keptAliveClosed;
    expect(fresh.destroyed).toBe(false);
    fresh.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const reply = await freshReply;
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(reply).toMatch(/\r\nConnection: close\r\n/i);
    expect(reply.endsWith(`pid ${oldPid}`)).toBe(true);

    // client_header_timeout is 6 s here: room for the reload on a loaded machine before the fresh
    // connection's own header timer would close it; the bound leaves room again.
    await waitFor(() => (silentClosed ? true : undefined), 30_000, 'the silent connection closed');
    await waitFor(() => (isAlive(oldPid) ? undefined : true), 10_000, 'the old worker exits');
  });
});
