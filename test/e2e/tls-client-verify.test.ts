import * as fs from 'node:fs';
import * as https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, makeSignedCert } from '../helpers/certs';
import { freePorts, getJson, makePrefix, Proxy, runCli, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * Mutual TLS as nginx: `ssl_verify_client on` answers 400 to a client
 * without a certificate or with one the CA did not sign (the handshake
 * itself succeeds), and counts those answers; `optional` lets a client
 * without one through; $ssl_client_verify and $ssl_client_s_dn say what came.
 */

let proxy: Proxy;
let dir: string;
let strict: number;
let optional: number;
let api: number;
let ca: { cert: string; key: string };
let client: { cert: string; key: string };
let stranger: { cert: string; key: string };

const REPORT = '"$ssl_client_verify|$ssl_client_s_dn"';

beforeAll(async () => {
  ({ prefix: dir } = makePrefix('events { }'));
  const server = makeCert(dir, 'server', 'mtls.test');
  ca = makeCert(dir, 'ca', 'Test CA');
  client = makeSignedCert(dir, 'client', '/O=Acme, Inc/CN=client one', ca);
  stranger = makeCert(dir, 'stranger', 'stranger');
  [strict, optional, api] = await freePorts(3);
  const tlsServer = (port: number, verify: string) => `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${server.cert};
    ssl_certificate_key ${server.key};
    ssl_client_certificate ${ca.cert};
    ssl_verify_client ${verify};
    location / { return 200 ${REPORT}; }
  }`;
  proxy = await startProxy(
    `worker_processes 2;
http {
  metric_zone mtls:1m count;
  metric mtls "$server_port $status $ssl_client_verify" on=end;
  ${tlsServer(strict, 'on')}
  ${tlsServer(optional, 'optional')}
  server { listen 127.0.0.1:${api}; location /status/ { api /status/; } }
}`,
    [strict, optional, api],
  );
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
});

function get(port: number, cert?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  const creds = cert === undefined ? {} : { cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) };
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false, ...creds }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('ssl_verify_client', () => {
  it('on: a certificate the CA signed passes, with its subject as RFC 2253', async () => {
    expect(await get(strict, client)).toEqual({ status: 200, body: 'SUCCESS|CN=client one,O=Acme\\, Inc' });
  });

  it('on: no certificate, or one from another CA, is a 400 (the handshake succeeded), and counted', async () => {
    expect((await get(strict)).status).toBe(400);
    expect((await get(strict, stranger)).status).toBe(400);
    type Zone = { metrics: Record<string, number> };
    const zone = await waitFor(async () => {
      const z = (await getJson(`http://127.0.0.1:${api}/status/http/metric_zones/mtls`)) as Zone;
      return z.metrics[`${strict} 400 NONE`] >= 1 && Object.keys(z.metrics).some((k) => k.startsWith(`${strict} 400 FAILED:`)) ? z : undefined;
    }, 30_000, 'the refusals counted');
    expect(zone.metrics[`${strict} 400 NONE`]).toBe(1);
  });

  it('optional: a client without a certificate passes as NONE; a bad one is still refused', async () => {
    expect(await get(optional)).toEqual({ status: 200, body: 'NONE|' });
    expect((await get(optional, client)).body).toMatch(/^SUCCESS\|CN=client one/);
    expect((await get(optional, stranger)).status).toBe(400);
  });

  it('verify without a CA file, or a missing CA file, is an [emerg]', async () => {
    const check = async (lines: string) => {
      const { prefix, conf } = makePrefix(`events { }\nhttp {\n  server {\n    listen 127.0.0.1:1 ssl;\n    ssl_certificate ${dir}/server.crt;\n    ssl_certificate_key ${dir}/server.key;\n${lines}\n  }\n}\n`);
      const r = await runCli(['-p', prefix, '-c', conf, '-t']);
      expect(r.code).toBe(1);
      return r.stderr.split('\n')[0].replace(conf, 'CONF');
    };
    expect(await check('ssl_verify_client on;')).toBe('metricproxy: [emerg] no ssl_client_certificate for ssl_verify_client in CONF:3');
    expect(await check(`ssl_verify_client on;\nssl_client_certificate ${dir}/none.crt;`)).toBe(
      `metricproxy: [emerg] cannot load client certificate "${dir}/none.crt": No such file or directory in CONF:8`,
    );
    expect(await check('ssl_verify_client maybe;')).toBe(
      'metricproxy: [emerg] invalid value "maybe" in "ssl_verify_client" directive, it must be "on", "off", "optional" or "optional_no_ca" in CONF:7',
    );
  });
});
