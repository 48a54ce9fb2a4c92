import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLog, freePorts, logLine, makePrefix, Proxy, request, runCli, startBackend, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';
import { waitFor } from '../helpers/sys';

/**
 * Edges of the proxy: chunked bodies over client_max_body_size, Upgrade
 * requests that get an ordinary answer, upstream-block directives that load
 * with a warning.
 */

type Backend = Awaited<ReturnType<typeof startBackend>>;

let proxy: Proxy;
let port: number;
let deadPort: number;
/** Reads the whole body, answers its length; counts bodies that arrived whole and those cut. */
let sink: Backend & { whole: () => number; cut: () => number };
/** Answers 200 and starts streaming before reading the body. */
let eager: Backend;

const url = (p: string) => `http://127.0.0.1:${port}${p}`;

interface Upload {
  status: number;
  body: string;
  /** The response was cut after its head. */
  aborted: boolean;
}

/**
 * POSTs `chunks` × `size` bytes with Transfer-Encoding: chunked, one chunk
 * every `gapMs`; stops sending once a response head arrives unless `afterHead`
 * — then it sends only 2 chunks before the head arrives and the rest after
 * it, so the body passes a limit only once the head is out.
 */
function chunkedUpload(p: string, chunks: number, size: number, gapMs = 0, afterHead = false): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url(p), { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      let body = '';
      let aborted = false;
      res.on('data', (d: Buffer) => (body += d.toString('latin1')));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body, aborted: aborted || !res.complete }));
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const chunk = Buffer.alloc(size, 97);
    let sent = 0;
    const pump = (): void => {
      if ((answered && !afterHead) || req.destroyed) return;
      if (sent === chunks) return void req.end();
      if (afterHead && !answered && sent >= 2) return void setTimeout(pump, gapMs);
      sent++;
      req.write(chunk);
      setTimeout(pump, gapMs);
    };
    pump();
  });
}

const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

beforeAll(async () => {
  [port, deadPort] = await freePorts(2);
  let whole = 0;
  let cut = 0;
  const s = await startBackend((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      whole++;
      res.end(String(bytes));
    });
    req.on('close', () => {
      if (!req.complete) cut++;
    });
  });
  sink = { ...s, whole: () => whole, cut: () => cut };
  eager = await startBackend((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('started\n');
    const timer = setInterval(() => res.write('.'), 20);
    res.on('close', () => clearInterval(timer));
  });
  proxy = await startProxy(
    `
worker_processes 1;
events { }
http {
  ${accessLog('edges', '$request_uri $status $upstream_status $request_completion')}
  client_max_body_size 4k;
  server {
    listen 127.0.0.1:${port};
    location /limited { proxy_pass http://127.0.0.1:${sink.port}; }
    location /unlimited { proxy_pass http://127.0.0.1:${sink.port}; client_max_body_size 0; }
    location /eager { proxy_pass http://127.0.0.1:${eager.port}; }
    location /denied { deny all; proxy_pass http://127.0.0.1:${sink.port}; }
    location /returned { return 200 "no tunnel here"; }
    location /dead { proxy_pass http://127.0.0.1:${deadPort}; }
  }
}
`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  for (const backend of [sink, eager]) await backend?.close();
});

describe('client_max_body_size with a chunked request body', () => {
  it('passes a chunked body within the limit', async () => {
    const r = await chunkedUpload('/limited?within', 4, 1024);
    expect(r).toMatchObject({ status: 200, body: '4096', aborted: false });
  });

  it('answers 413 once the body passes the limit, the upstream never gets it whole, the log says 413', async () => {
    const wholeBefore = sink.whole();
    const cutBefore = sink.cut();
    const r = await chunkedUpload('/limited?over', 64, 1024, 5);
    expect(r.status).toBe(413);
    expect(r.body).toContain('<title>413 ');
    expect(await logLine(proxy, 'edges', '/limited?over')).toBe('/limited?over 413 - OK');
    // The body streamed to the upstream until the limit: that upstream request ends cut, never whole.
    await waitFor(() => (sink.cut() > cutBefore ? true : undefined), 10_000, 'the upstream request cut');
    expect(sink.whole()).toBe(wholeBefore);
  });

  it('answers 413 for a body sent in one burst', async () => {
    const r = await chunkedUpload('/limited?burst', 1, 64 * 1024);
    expect(r.status).toBe(413);
    expect(await logLine(proxy, 'edges', '/limited?burst')).toBe('/limited?burst 413 - OK');
  });

  it('client_max_body_size 0 lets any chunked body through', async () => {
    const r = await chunkedUpload('/unlimited', 64, 1024);
    expect(r).toMatchObject({ status: 200, body: String(64 * 1024) });
  });

  it('cuts the connection when the response head is already out', async () => {
    const r = await chunkedUpload('/eager', 64, 1024, 5, true);
    expect(r.status).toBe(200);
    expect(r.body.startsWith('started\n')).toBe(true);
    expect(r.aborted).toBe(true);
    expect(await logLine(proxy, 'edges', '/eager')).toBe('/eager 200 200 -');
  });
});

describe('an Upgrade request answered without switching protocols', () => {
  it.each([
    ['/nowhere', 404],
    ['/denied', 403],
    ['/returned', 200],
    ['/dead', 502],
  ])('%s: answered %i, the connection closed, the request logged', async (p, status) => {
    const reply = await rawExchange(port, `GET ${p}?upgrade HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`, { timeoutMs: 3000 });
    expect(reply.statuses).toEqual([status]);
    expect(reply.closed).toBe(true);
    expect(await logLine(proxy, 'edges', `${p}?upgrade`)).toMatch(new RegExp(`^${p.replace('/', '\\/')}\\?upgrade ${status} `));
  });
});

describe('upstream block directives metricproxy ignores', () => {
  it('loads keepalive_timeout, keepalive_requests and keepalive_time with a [warn] each', async () => {
    const { prefix, conf } = makePrefix(`
events { }
http {
  upstream u {
    server 127.0.0.1:1;
    keepalive 4;
    keepalive_timeout 60s;
    keepalive_requests 1000;
    keepalive_time 1h;
  }
  server { listen 127.0.0.1:1; location / { proxy_pass http://u; } }
}
`);
    const r = await runCli(['-p', prefix, '-c', conf, '-t']);
    expect(r.code).toBe(0);
    for (const [name, line] of [['keepalive_timeout', 7], ['keepalive_requests', 8], ['keepalive_time', 9]] as const) {
      expect(r.stderr).toContain(`metricproxy: [warn] "${name}" directive is ignored by metricproxy in ${conf}:${line}`);
    }
  });

  it('still refuses bad values', async () => {
    const check = async (inner: string) => {
      const { prefix, conf } = makePrefix(`events { }\nhttp {\n  upstream u {\n    server 127.0.0.1:1;\n    ${inner}\n  }\n}\n`);
      const r = await runCli(['-p', prefix, '-c', conf, '-t']);
      expect(r.code).toBe(1);
      return r.stderr.split('\n')[0].replace(` in ${conf}:5`, '');
    };
    expect(await check('keepalive_timeout soon;')).toBe('metricproxy: [emerg] "keepalive_timeout" directive invalid value');
    expect(await check('keepalive_requests 1 2;')).toBe('metricproxy: [emerg] invalid number of arguments in "keepalive_requests" directive');
    expect(await check('hash $arg_user ring;')).toBe('metricproxy: [emerg] invalid parameter "ring"');
  });
});
