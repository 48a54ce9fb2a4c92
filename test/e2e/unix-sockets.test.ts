import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';

let proxy: Proxy;
let backend: http.Server;
let port: number;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-unix-'));
const front = path.join(dir, 'front.sock');
const back = path.join(dir, 'back.sock');

/** One request over a unix socket. */
function viaSocket(socketPath: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: p, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  backend = http.createServer((req, res) => res.end(`backend ${req.url} host=${req.headers.host}\n`));
  await new Promise<void>((r) => backend.listen(back, r));
  // A file left at the path by an earlier run: removed before binding, as nginx does.
  fs.writeFileSync(front, '');
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
worker_processes 2;
http {
    access_log off;
    upstream sockets { server unix:${back}; }
    server {
        listen unix:${front};
        listen 127.0.0.1:${port} backlog=511 reuseport;
        location /direct/ { proxy_pass http://unix:${back}:/via/; }
        location /up/ { proxy_pass http://sockets; }
        location / { return 200 "front $uri\\n"; }
    }
}
`,
    [port],
  );
});
afterAll(async () => {
  await proxy?.stop();
  await new Promise((r) => backend?.close(r));
});

it('listen unix:PATH answers on the socket (two workers, a stale file replaced); backlog= and reuseport load', async () => {
  for (let i = 0; i < 4; i++) expect(await viaSocket(front, '/x')).toEqual({ status: 200, body: 'front /x\n' });
  expect((await request(`http://127.0.0.1:${port}/y`)).body).toBe('front /y\n');
});

it('proxy_pass http://unix:PATH:/uri and an upstream server unix:PATH', async () => {
  expect((await request(`http://127.0.0.1:${port}/direct/a?q=1`)).body).toBe('backend /via/a?q=1 host=localhost\n');
  expect((await viaSocket(front, '/up/b')).body).toBe('backend /up/b host=sockets\n');
});

it('bad unix addresses and backlog values are one config error line', async () => {
  for (const [conf, msg] of [
    ['listen unix:;', 'no path in the unix domain socket in "unix:" of the "listen" directive'],
    ['listen 127.0.0.1:1 backlog=x;', 'invalid backlog "x"'],
    ['location / { proxy_pass http://unix:; }', 'no path in the unix domain socket'],
  ]) {
    const { prefix, conf: file } = makePrefix(`http { server { ${conf} } }\n`);
    const r = await runCli(['-p', prefix, '-c', file, '-t']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(msg);
  }
});
