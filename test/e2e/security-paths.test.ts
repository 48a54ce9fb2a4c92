import { describe, expect, it } from 'vitest';
import { frontedForFile } from '../helpers/fronted';
import { rawExchange } from '../helpers/raw';

/**
 * Access-control path tricks against a denied prefix location (issue 10:
 * attacks that held, kept as regressions). The location is matched on the
 * normalised, decoded $uri — as nginx does — so no spelling of the path
 * reaches the protected upstream. Every status below is nginx 1.22's too,
 * except where noted.
 */

const f = frontedForFile(
  (port, backendPort) => `
  server {
    listen 127.0.0.1:${port};
    location /admin/ { deny all; proxy_pass http://127.0.0.1:${backendPort}; }
    location / { return 200 "public $uri"; }
  }`,
);

async function get(target: string): Promise<{ status: number; body: string }> {
  const r = await rawExchange(f.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  return { status: r.statuses[0], body: r.text.slice(r.text.indexOf('\r\n\r\n') + 4) };
}

describe('every spelling of the denied prefix is denied', () => {
  it.each([
    '/admin/',
    '//admin/',
    '/./admin/',
    '/pub/../admin/',
    '/%61dmin/',
    '/admin%2f',
    '/%2fadmin/',
    '/%2e/admin/',
    '/admin/%2e%2e/admin/',
    '/x/%2e%2e/admin/',
    '/x/%2E%2E/admin/',
    '/admin/..%2fadmin/',
    '/admin/.',
    '/admin/%252e',
    '/admin/?/../',
    'http://x/admin/',
    '/pub#/../admin/', // nginx cuts the target at `#` and serves /pub: stricter here, never looser
  ])('%s → 403', async (target) => {
    expect((await get(target)).status).toBe(403);
  });
});

describe('paths that leave the root or hold NUL are refused', () => {
  it.each(['/../admin/', '/x/..%2f..%2fadmin/', '/admin%00/'])('%s → 400', async (target) => {
    expect((await get(target)).status).toBe(400);
  });
});

describe('other names are other locations, as in nginx (case-sensitive, no path parameters)', () => {
  it.each([
    ['/ADMIN/', 'public /ADMIN/'],
    ['/Admin/', 'public /Admin/'],
    ['/admin;/', 'public /admin;/'],
    ['/admin%20/', 'public /admin /'],
    ['/admin\\x', 'public /admin\\x'],
  ])('%s → %s', async (target, body) => {
    expect(await get(target)).toEqual({ status: 200, body });
  });

  it('the protected upstream never saw a request', () => {
    expect(f.backend.seen).toEqual([]);
  });
});
