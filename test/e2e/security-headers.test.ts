import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingBackend } from '../helpers/backends';
import { freePorts, getJson, Proxy, startProxy } from '../helpers/proc';
import { rawExchange } from '../helpers/raw';

/**
 * Response splitting through variables: `$uri` is percent-decoded, so
 * `%0d%0a` puts CR LF into it. Used in add_header, a redirect's Location or
 * proxy_set_header, it must never inject a header or a second response —
 * and the client still gets an answer (the unsendable header left out, or
 * 500 when the upstream request cannot be built), counted at on=end.
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
  metric_zone answers:1m count;
  server {
    listen 127.0.0.1:${port};
    metric answers $status;
    location /header/ { add_header X-Uri $uri; add_header X-Safe yes; return 200 "ok"; }
    location /redirect/ { return 302 http://example.test$uri; }
    location /upstream/ { proxy_set_header X-Uri $uri; proxy_pass http://127.0.0.1:${backend.port}; }
    location /api/ { api /status/http/metric_zones/answers/metrics/; }
  }
}`,
    [port],
  );
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
});

const INJECTION = 'a%0d%0aSet-Cookie:%20evil=1%0d%0a%0d%0aHTTP/1.1%20200%20OK';

async function get(path: string) {
  return rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
}

describe('CR LF from $uri never splits a response', () => {
  it('add_header: the header is left out, the rest of the response goes out', async () => {
    const r = await get(`/header/${INJECTION}`);
    expect(r.statuses).toEqual([200]);
    expect(r.text).not.toMatch(/set-cookie/i);
    expect(r.text).toMatch(/\r\nx-safe: yes\r\n/i);
    expect(r.text.endsWith('\r\n\r\nok')).toBe(true);
  });

  it('return 302: answered without the unsendable Location', async () => {
    const r = await get(`/redirect/${INJECTION}`);
    expect(r.statuses).toEqual([302]);
    expect(r.text).not.toMatch(/set-cookie|\r\nlocation:/i);
  });

  it('proxy_set_header: 500, and nothing reaches the upstream', async () => {
    const r = await get(`/upstream/${INJECTION}`);
    expect(r.statuses).toEqual([500]);
    expect(backend.seen).toHaveLength(0);
  });

  it('every one of those requests was answered and counted', async () => {
    expect(await getJson(`http://127.0.0.1:${port}/api/`)).toMatchObject({ 200: 1, 302: 1, 500: 1 });
  });
});
