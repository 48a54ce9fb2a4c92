import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingBackend } from '../helpers/backends';
import { freePorts, Proxy, request, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';

/**
 * Which server a request reaches, and request lines nginx refuses (issue 10
 * items 7 and 8), each checked against nginx 1.22's answer:
 * - an absolute-form target names the host (RFC 9112 §3.2.2): `GET
 *   http://x/status/` with `Host: admin.local` goes to the default server,
 *   so a server_name separation cannot be bypassed;
 * - Host values nginx rejects (`a/b`, `a b`, `a..b`, empty) → 400, never proxied;
 * - HTTP/2.0 in a request line → 505; CONNECT → 400 with a response.
 */

let proxy: Proxy;
let port: number;
let backend: Awaited<ReturnType<typeof recordingBackend>>;

beforeAll(async () => {
  backend = await recordingBackend();
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
http {
  server {
    listen 127.0.0.1:${port} default_server;
    location / { proxy_pass http://127.0.0.1:${backend.port}; }
    location /which { return 200 "public host=$host"; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name admin.local;
    location /which { return 200 "admin host=$host"; }
  }
}`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

async function bodyOf(bytes: string): Promise<string> {
  const r = await rawExchange(port, bytes);
  expect(r.statuses).toEqual([200]);
  return r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
}

describe('an absolute-form target picks the server, not Host', () => {
  it('http://x/ with Host: admin.local → the default server, $host is x', async () => {
    expect(await bodyOf(head(['GET http://x/which HTTP/1.1', 'Host: admin.local', 'Connection: close']))).toBe('public host=x');
  });

  it('http://ADMIN.local.:80/ with Host: x → the admin.local server, $host normalised', async () => {
    expect(await bodyOf(head(['GET http://ADMIN.local.:80/which HTTP/1.1', 'Host: x', 'Connection: close']))).toBe('admin host=admin.local');
  });

  it('origin-form still goes by Host', async () => {
    expect(await bodyOf(head(['GET /which HTTP/1.1', 'Host: Admin.Local:8080', 'Connection: close']))).toBe('admin host=admin.local');
  });
});

/** Sends raw bytes and checks: one answer with `status`, connection closed, nothing forwarded, still serving. */
async function expectRefused(bytes: string, status: number): Promise<void> {
  const before = backend.seen.length;
  const reply = await rawExchange(port, bytes);
  expect(reply.statuses).toEqual([status]);
  expect(reply.text).toMatch(/\r\n\r\n<html>/);
  expect(reply.closed).toBe(true);
  expect((await request(`http://127.0.0.1:${port}/alive`)).body).toBe('ok /alive');
  expect(backend.seen.slice(before).map((s) => s.url)).toEqual(['/alive']);
}

describe('refused as nginx refuses them', () => {
  it.each([
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['two dots in a row', 'a..b'],
    ['nothing', ''],
  ])('Host with %s → 400', async (_name, host) => {
    await expectRefused(head(['GET / HTTP/1.1', `Host: ${host}`]), 400);
  });

  it('an absolute-form target with userinfo → 400', async () => {
    await expectRefused(head(['GET http://user@x/ HTTP/1.1', 'Host: x']), 400);
  });

  it('HTTP/2.0 in a request line → 505', async () => {
    await expectRefused(head(['GET / HTTP/2.0', 'Host: x']), 505);
  });

  it('CONNECT → 400 with a response, not a silent close', async () => {
    await expectRefused(head(['CONNECT example.test:443 HTTP/1.1', 'Host: example.test:443']), 400);
  });
});
