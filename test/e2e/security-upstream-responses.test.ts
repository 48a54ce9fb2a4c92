import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterRequestHead, TcpBackend, tcpBackend } from '../helpers/backends';
import { freePorts, Proxy, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';

/**
 * Hostile upstream responses (issue 10: attacks that held, kept as
 * regressions). Each reply is followed, on the same client connection, by
 * a pipelined request for /alive: whatever the upstream sent, the client
 * gets one well-framed response for it (or a cut connection), never bytes
 * the upstream forged as a second response or an injected header, and the
 * next request on the connection is answered on its own. Where nginx 1.22
 * passes a reply through we may refuse it (502), never the other way round.
 */

const REPLIES: Record<string, string> = {
  '/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nokHTTP/1.1 200 OK\r\nX-Injected: 1\r\n\r\n',
  '/length-and-chunked': 'HTTP/1.1 200 OK\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  '/extra-bytes': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nX-Injected: 1\r\nContent-Length: 6\r\n\r\nforged',
  '/status-099': 'HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok',
  '/status-999': 'HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok',
  '/nul-in-header': 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok',
  '/bare-cr': 'HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: evil=1\r\nContent-Length: 2\r\n\r\nok',
  '/space-in-name': 'HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok',
  '/huge-header': `HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(100_000)}\r\nContent-Length: 2\r\n\r\nok`,
  '/negative-length': 'HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok',
  '/unasked-switch': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nraw bytes',
  '/gzip-coding': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok',
  '/http10-until-close': 'HTTP/1.0 200 OK\r\n\r\nuntil close',
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n',
};

let proxy: Proxy;
let port: number;
let hostile: TcpBackend;

beforeAll(async () => {
  hostile = await tcpBackend((socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => (head += d.toString('latin1')));
    afterRequestHead(socket, () => socket.end(REPLIES[head.split(' ')[1]] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
  });
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
http {
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${hostile.port}; }
    location = /alive { return 200 "alive"; }
  }
}`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  await hostile?.close();
});

/** The hostile request, then /alive, pipelined on one connection. */
function pipelined(p: string) {
  return rawExchange(port, `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\nGET /alive HTTP/1.1\r\nHost: x\r\n\r\n`, { until: (t) => t.endsWith('alive') });
}

function expectNothingForged(text: string): void {
  expect(text).not.toMatch(/x-injected|set-cookie|forged/i);
}

describe('refused with 502; the next request on the connection is answered', () => {
  it.each(['/two-lengths', '/length-and-chunked', '/status-099', '/nul-in-header', '/bare-cr', '/space-in-name', '/huge-header', '/negative-length', '/unasked-switch'])(
    '%s',
    async (p) => {
      const reply = await pipelined(p);
      expect(reply.statuses).toEqual([502, 200]);
      expect(reply.text.endsWith('\r\n\r\nalive')).toBe(true);
      expectNothingForged(reply.text);
    },
  );
});

describe('passed on, framed by the proxy', () => {
  it.each([
    ['/extra-bytes', 200, 'ok'],
    ['/status-999', 999, 'ok'],
    ['/gzip-coding', 200, 'ok'],
    ['/http10-until-close', 200, 'until close'],
  ])('%s → %i with only its own body', async (p, status, body) => {
    const reply = await pipelined(p);
    expect(reply.statuses).toEqual([status, 200]);
    expect(reply.text.replace(/\r\n[0-9a-f]+\r\n|\r\n0\r\n\r\n/g, '\r\n')).toContain(`\r\n\r\n${body}`);
    expect(reply.text.endsWith('\r\n\r\nalive')).toBe(true);
    expectNothingForged(reply.text);
  });

  it('a broken chunk after the head: the client connection is cut, nothing else sent', async () => {
    const reply = await pipelined('/bad-chunk');
    expect(reply.statuses).toEqual([200]);
    expect(reply.closed).toBe(true);
    expect(reply.text).not.toContain('\r\n\r\nalive');
  });
});
