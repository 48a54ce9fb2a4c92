import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingBackend } from '../helpers/backends';
import { freePorts, Proxy, request, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';

/**
 * Malformed and ambiguous requests in front of proxy_pass: each is refused
 * with the status nginx gives, the connection closes (its framing cannot be
 * trusted), nothing reaches the upstream, and the proxy keeps serving.
 */

let proxy: Proxy;
let port: number;
let bigPort: number;
let backend: Awaited<ReturnType<typeof recordingBackend>>;

beforeAll(async () => {
  backend = await recordingBackend();
  [port, bigPort] = await freePorts(2);
  proxy = await startProxy(
    `
http {
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${backend.port}; client_max_body_size 0; }
  }
  server {
    listen 127.0.0.1:${bigPort};
    large_client_header_buffers 4 32k;
    location / { return 200 "big ok"; }
  }
}`,
    [port, bigPort],
  );
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

/** Sends raw bytes and checks: one answer with `status`, connection closed, nothing forwarded, still serving. */
async function expectRefused(bytes: string, status: number): Promise<void> {
  const before = backend.seen.length;
  const reply = await rawExchange(port, bytes);
  expect(reply.statuses).toEqual([status]);
  expect(reply.closed).toBe(true);
  const alive = await request(`http://127.0.0.1:${port}/alive`);
  expect(alive.body).toBe('ok /alive');
  // The alive probe is the only request the upstream saw.
  expect(backend.seen.slice(before).map((s) => s.url)).toEqual(['/alive']);
}

describe('malformed request lines and headers → 400, connection closed', () => {
  it.each([
    ['garbage request line', 'GARBAGE\r\n\r\n'],
    ['unknown HTTP version', head(['GET / HTTP/9.9', 'Host: x'])],
    ['bare LF line ends', 'GET / HTTP/1.1\nHost: x\n\n'],
    ['NUL in the target', head(['GET /\0 HTTP/1.1', 'Host: x'])],
    ['invalid method token', head(['G@T / HTTP/1.1', 'Host: x'])],
    ['space inside a header name', head(['GET / HTTP/1.1', 'Host: x', 'Bad Name: v'])],
    ['header line without a colon', head(['GET / HTTP/1.1', 'Host: x', 'NoColon'])],
    ['control byte in a header value', head(['GET / HTTP/1.1', 'Host: x', 'X-A: a\x01b'])],
    ['obsolete line folding', head(['GET / HTTP/1.1', 'Host: x', 'X-A: a', ' folded'])],
    ['HTTP/1.1 without Host', head(['GET / HTTP/1.1'])],
    ['bad chunk size', `${head(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked'])}zz\r\n\r\n`],
  ])('%s', async (_name, bytes) => {
    await expectRefused(bytes, 400);
  });
});

describe('request smuggling attempts are refused, never forwarded', () => {
  const post = (framing: string[], body: string) => `${head(['POST /target HTTP/1.1', 'Host: x', ...framing])}${body}`;
  // The classic payload: a front end reading one framing forwards a prefix the back end reads as a second request.
  const smuggled = '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';

  it.each([
    ['Content-Length then Transfer-Encoding', ['Content-Length: 6', 'Transfer-Encoding: chunked'], smuggled],
    ['Transfer-Encoding then Content-Length', ['Transfer-Encoding: chunked', 'Content-Length: 3'], smuggled],
    ['two different Content-Lengths', ['Content-Length: 3', 'Content-Length: 40'], 'abcGET /smuggled HTTP/1.1\r\n\r\n'],
    ['two equal Content-Lengths', ['Content-Length: 3', 'Content-Length: 3'], 'abc'],
    ['a Content-Length list', ['Content-Length: 3, 40'], 'abc'],
    ['a signed Content-Length', ['Content-Length: +3'], 'abc'],
    ['space before the colon', ['Transfer-Encoding : chunked'], smuggled],
    ['Transfer-Encoding: chunked, identity', ['Transfer-Encoding: chunked, identity'], smuggled],
    ['Transfer-Encoding twice', ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], smuggled],
  ])('%s → 400', async (_name, framing, body) => {
    await expectRefused(post(framing, body), 400);
  });

  it.each([
    ['gzip, chunked', '3\r\nabc\r\n0\r\n\r\n'],
    ['xchunked', smuggled],
  ])('Transfer-Encoding: %s → 501, as nginx (a coding the upstream would never hear of)', async (te, body) => {
    await expectRefused(post([`Transfer-Encoding: ${te}`], body), 501);
  });

  it('two Host headers → 400, as nginx', async () => {
    await expectRefused(head(['GET /target HTTP/1.1', 'Host: a.test', 'Host: b.test']), 400);
  });

  it('a well-framed chunked body is forwarded once, whole', async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(port, post(['Transfer-Encoding: chunked', 'Connection: close'], '3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n'));
    expect(reply.statuses).toEqual([200]);
    expect(backend.seen.slice(before).map((s) => [s.url, s.body])).toEqual([['/target', 'abcdefg']]);
  });

  it('a malformed request pipelined behind a proxied one: the first answer comes whole and first', async () => {
    const reply = await rawExchange(port, head(['GET /first?delay=200 HTTP/1.1', 'Host: x']) + 'GARBAGE\r\n\r\n');
    expect(reply.statuses[0]).toBe(200);
    expect(reply.text).toContain('ok /first?delay=200');
    expect(reply.closed).toBe(true);
  });

  it('pipelined requests are forwarded in order, each once', async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(port, head(['GET /one HTTP/1.1', 'Host: x']) + head(['GET /two HTTP/1.1', 'Host: x', 'Connection: close']));
    expect(reply.statuses).toEqual([200, 200]);
    expect(backend.seen.slice(before).map((s) => s.url)).toEqual(['/one', '/two']);
  });
});

describe('pipelining floods', () => {
  it('2,000 requests pipelined on one connection are answered in turn, on one upstream connection at a time', async () => {
    const N = 2000;
    const before = backend.seen.length;
    const connections = backend.connections();
    backend.maxInFlight(); // start counting from here
    const reply = await rawExchange(port, head(['GET /piped HTTP/1.1', 'Host: x']).repeat(N), {
      timeoutMs: 20_000,
      until: (text) => text.split('ok /piped').length > N,
    });
    expect(reply.statuses).toHaveLength(N);
    expect(backend.seen.length - before).toBe(N);
    // nginx reads the next request of a connection once the current one is done: at most one in flight.
    expect(backend.maxInFlight()).toBe(1);
    expect(backend.connections() - connections).toBeLessThanOrEqual(2);
  });
});

describe('header floods', () => {
  const flood = (n: number, last: string) => [...Array<string>(n).fill('a:b'), last];

  it('2,500 small headers within the size limit are all forwarded (none silently dropped)', async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(port, head(['GET /flood HTTP/1.1', 'Host: x', ...flood(2500, 'X-Last: kept'), 'Connection: close']));
    expect(reply.statuses).toEqual([200]);
    const seen = backend.seen.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0].headers['x-last']).toBe('kept');
    expect(String(seen[0].headers.a).split(', ')).toHaveLength(2500);
  });

  it('a head over the size limit → 431 and the connection is closed', async () => {
    await expectRefused(head(['GET /flood HTTP/1.1', 'Host: x', ...flood(10_000, 'X-Last: v')]), 431);
  });

  it('large_client_header_buffers raises the limit for its server', async () => {
    const big = head(['GET / HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`, 'Connection: close']);
    expect((await rawExchange(bigPort, big)).statuses).toEqual([200]);
    expect((await rawExchange(port, big)).statuses).toEqual([431]);
    const huge = head(['GET / HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(200_000)}`]);
    expect((await rawExchange(bigPort, huge)).statuses).toEqual([431]);
  });
});
