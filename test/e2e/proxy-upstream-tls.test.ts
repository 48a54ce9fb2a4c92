import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, makeSignedCert } from '../helpers/certs';
import { freePorts, getJson, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * `proxy_pass https://` as nginx: no verification by default; with
 * `proxy_ssl_verify on` only proxy_ssl_trusted_certificate is trusted and
 * the certificate must name proxy_ssl_name; SNI only with
 * proxy_ssl_server_name on; proxy_ssl_certificate for backends that want
 * mTLS. A failed handshake is a 502, logged as nginx words it, and counted.
 */

interface Backend {
  port: number;
  server: https.Server;
}

let dir: string;
let proxy: Proxy;
let port: number;
let ca: { cert: string; key: string };
const backends: Backend[] = [];

/** An HTTPS backend answering `servername|client subject CN`. */
async function startTlsBackend(creds: { cert: string; key: string }, opts: https.ServerOptions = {}): Promise<Backend> {
  const server = https.createServer({ cert: fs.readFileSync(creds.cert), key: fs.readFileSync(creds.key), ...opts }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    res.end(`${socket.servername || '-'}|${peer?.subject?.CN ?? '-'}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const backend = { port: (server.address() as { port: number }).port, server };
  backends.push(backend);
  return backend;
}

beforeAll(async () => {
  ({ prefix: dir } = makePrefix('events { }'));
  ca = makeCert(dir, 'ca', 'Test CA');
  const signed = makeSignedCert(dir, 'backend', '/CN=backend.test', ca);
  const client = makeSignedCert(dir, 'client', '/CN=proxy client', ca);
  const self = await startTlsBackend(makeCert(dir, 'self', 'backend.test'));
  const trusted = await startTlsBackend(signed);
  const mutual = await startTlsBackend(signed, { ca: fs.readFileSync(ca.cert), requestCert: true, rejectUnauthorized: true });
  [port] = await freePorts(1);
  const verify = `proxy_ssl_verify on; proxy_ssl_trusted_certificate ${ca.cert};`;
  proxy = await startProxy(
    `worker_processes 2;
error_log logs/error.log;
http {
  metric_zone upstream_tls:1m count;
  server {
    listen 127.0.0.1:${port};
    metric upstream_tls "$uri $status" on=end;
    location /unverified { proxy_pass https://127.0.0.1:${self.port}; }
    location /self-signed { ${verify} proxy_pass https://127.0.0.1:${self.port}; }
    location /trusted { ${verify} proxy_ssl_name backend.test; proxy_ssl_server_name on; proxy_pass https://127.0.0.1:${trusted.port}; }
    location /no-sni { ${verify} proxy_ssl_name backend.test; proxy_pass https://127.0.0.1:${trusted.port}; }
    location /wrong-name { ${verify} proxy_ssl_name other.test; proxy_pass https://127.0.0.1:${trusted.port}; }
    location /mtls { proxy_ssl_certificate ${client.cert}; proxy_ssl_certificate_key ${client.key}; proxy_pass https://127.0.0.1:${mutual.port}; }
    location /no-client-cert { proxy_pass https://127.0.0.1:${mutual.port}; }
    location /status/ { api /status/; }
  }
}`,
    [port],
  );
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  for (const b of backends) b.server.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const errorLog = () => fs.readFileSync(path.join(proxy.prefix, 'logs/error.log'), 'utf8');

describe('proxy_pass https://', () => {
  it('without proxy_ssl_verify any certificate is taken, and no SNI is sent', async () => {
    const r = await request(proxy.url(port, '/unverified'));
    expect(r.status).toBe(200);
    expect(r.body).toBe('-|-');
  });

  it('verification against proxy_ssl_trusted_certificate and proxy_ssl_name; SNI with proxy_ssl_server_name on', async () => {
    expect(await request(proxy.url(port, '/trusted'))).toMatchObject({ status: 200, body: 'backend.test|-' });
    expect(await request(proxy.url(port, '/no-sni'))).toMatchObject({ status: 200, body: '-|-' });
  });

  it('a self-signed peer, or one whose certificate names another host, is a 502, logged as nginx, and counted', async () => {
    expect((await request(proxy.url(port, '/self-signed'))).status).toBe(502);
    expect((await request(proxy.url(port, '/wrong-name'))).status).toBe(502);
    await waitFor(() => (errorLog().includes('other.test') ? true : undefined), 10_000, 'the error log lines');
    const lines = errorLog().split('\n');
    const selfSigned = lines.find((l) => l.includes('GET /self-signed'));
    expect(selfSigned).toMatch(/\[error\] .*upstream SSL certificate verify error: \(18:self-signed certificate\) while SSL handshaking to upstream, client: 127\.0\.0\.1, /);
    expect(selfSigned).toContain(`upstream: "https://127.0.0.1:`);
    expect(lines.find((l) => l.includes('GET /wrong-name'))).toContain('upstream SSL certificate does not match "other.test" while SSL handshaking to upstream');
    const counts = (await getJson(proxy.url(port, '/status/http/metric_zones/upstream_tls/metrics/'))) as Record<string, number>;
    expect(counts).toMatchObject({ '/self-signed 502': 1, '/wrong-name 502': 1 });
  });

  it('proxy_ssl_certificate answers a backend that asks for a client certificate; without it the handshake fails', async () => {
    expect(await request(proxy.url(port, '/mtls'))).toMatchObject({ status: 200, body: '-|proxy client' });
    expect((await request(proxy.url(port, '/no-client-cert'))).status).toBe(502);
  });
});

describe('proxy_ssl_* at load', () => {
  const load = async (location: string) => {
    const { prefix, conf } = makePrefix(`http { server { listen 127.0.0.1:1; location / {\n${location}\n} } }`);
    try {
      const r = await runCli(['-p', prefix, '-c', conf, '-t']);
      return { code: r.code, line: r.stderr.split('\n')[0], conf };
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  };

  it('verification without a trusted certificate, a missing file, a certificate without its key: one [emerg] line each', async () => {
    let r = await load('proxy_ssl_verify on; proxy_pass https://127.0.0.1:1;');
    expect(r).toMatchObject({ code: 1, line: `metricproxy: [emerg] no proxy_ssl_trusted_certificate for proxy_ssl_verify in ${r.conf}:2` });
    r = await load('proxy_ssl_verify on;\nproxy_ssl_trusted_certificate /nonexistent/ca.pem; proxy_pass https://127.0.0.1:1;');
    expect(r).toMatchObject({ code: 1, line: `metricproxy: [emerg] cannot load certificate "/nonexistent/ca.pem": No such file or directory in ${r.conf}:3` });
    r = await load(`proxy_ssl_certificate ${ca.cert}; proxy_pass https://127.0.0.1:1;`);
    expect(r).toMatchObject({ code: 1, line: `metricproxy: [emerg] no "proxy_ssl_certificate_key" is defined for certificate "${ca.cert}" in ${r.conf}:2` });
    r = await load('proxy_ssl_verify maybe;');
    expect(r).toMatchObject({ code: 1, line: `metricproxy: [emerg] invalid value "maybe" in "proxy_ssl_verify" directive, it must be "on" or "off" in ${r.conf}:2` });
  });
});
