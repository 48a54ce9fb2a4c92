import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from '../helpers/certs';
import { h2Request, h2Session } from '../helpers/h2';
import { Backend, freePorts, makePrefix, Proxy, startBackend, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * A graceful stop with HTTP/2 sessions open: each gets GOAWAY, a stream in
 * flight finishes, and an idle session does not hold the worker for its
 * keepalive_timeout (75 s here).
 */

let dir: string;
let proxy: Proxy;
let port: number;
let backend: Backend;
let slowArrived = false;

beforeAll(async () => {
  ({ prefix: dir } = makePrefix('events { }'));
  const cert = makeCert(dir, 'a', 'a.test');
  backend = await startBackend((_req, res) => {
    slowArrived = true;
    setTimeout(() => res.end('slow done'), 1500);
  });
  [port] = await freePorts(1);
  proxy = await startProxy(
    `worker_processes 1;
http {
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    location / { proxy_pass http://127.0.0.1:${backend.port}; }
  }
}`,
    [port],
  );
}, 60_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await backend?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('graceful stop with h2 sessions', () => {
  it('GOAWAY to every session: the open stream finishes, the idle session closes, the proxy exits', async () => {
    const busy = await h2Session(port, 'a.test');
    const idle = await h2Session(port, 'a.test');
    const goaways: string[] = [];
    busy.on('goaway', () => goaways.push('busy'));
    idle.on('goaway', () => goaways.push('idle'));
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    const slow = h2Request(busy, '/slow');
    await waitFor(() => (slowArrived ? true : undefined), 10_000, 'the slow request upstream');
    const stoppedAt = Date.now();
    const exited = new Promise<void>((resolve) => proxy.child.once('exit', () => resolve()));
    proxy.child.kill('SIGQUIT');
    expect((await slow).body).toBe('slow done');
    await idleClosed;
    await exited;
    expect(goaways.sort()).toEqual(['busy', 'idle']);
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);
    busy.close();
  });
});
