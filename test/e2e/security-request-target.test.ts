import { describe, expect, it } from 'vitest';
import { expectRefused, frontedForFile } from '../helpers/fronted';
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

const f = frontedForFile(
  (port, backendPort) => `
  server {
    listen 127.0.0.1:${port} default_server;
    location / { proxy_pass http://127.0.0.1:${backendPort}; }
    location /which { return 200 "public host=$host"; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name admin.local;
    location /which { return 200 "admin host=$host"; }
  }`,
);

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

async function bodyOf(bytes: string): Promise<string> {
  const r = await rawExchange(f.port, bytes);
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

async function refused(bytes: string, status: number): Promise<void> {
  expect(await expectRefused(f, bytes, status)).toMatch(/\r\n\r\n<html>/);
}

describe('refused as nginx refuses them', () => {
  it.each([
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['two dots in a row', 'a..b'],
    ['nothing', ''],
  ])('Host with %s → 400', async (_name, host) => {
    await refused(head(['GET / HTTP/1.1', `Host: ${host}`]), 400);
  });

  it('an absolute-form target with userinfo → 400', async () => {
    await refused(head(['GET http://user@x/ HTTP/1.1', 'Host: x']), 400);
  });

  it('HTTP/2.0 in a request line → 505', async () => {
    await refused(head(['GET / HTTP/2.0', 'Host: x']), 505);
  });

  it('CONNECT → 400 with a response, not a silent close', async () => {
    await refused(head(['CONNECT example.test:443 HTTP/1.1', 'Host: example.test:443']), 400);
  });
});
