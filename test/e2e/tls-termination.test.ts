import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from '../helpers/certs';
import { freePorts, getJson, makePrefix, Proxy, runCli, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * TLS termination on the real CLI with two workers: SNI picks the server
 * and its certificate (RSA or ECDSA by what the client accepts),
 * ssl_protocols refuses other versions, the $ssl_* variables, garbage
 * instead of a ClientHello, [emerg] on bad key files, certificates read
 * again on reload.
 */

let proxy: Proxy;
let dir: string;
let port: number;
let only13: number;
let api: number;
const certs: Record<string, { cert: string; key: string }> = {};

const RSA_ONLY: tls.ConnectionOptions = { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' };

const REPORT = '"$server_name|$ssl_protocol|$ssl_cipher|$ssl_server_name|$https|$scheme|$pid"';

/** A server on the shared TLS port with an RSA and an ECDSA certificate. */
function dualCertServer(name: string, extra = ''): string {
  const [rsa, ec] = [certs[`${name}Rsa`], certs[`${name}Ec`]];
  return `server {
    listen 127.0.0.1:${port} ssl;
    server_name ${name}.test;
    ssl_certificate ${rsa.cert};
    ssl_certificate_key ${rsa.key};
    ssl_certificate ${ec.cert};
    ssl_certificate_key ${ec.key};
    ${extra}
    location / { return 200 ${REPORT}; }
  }`;
}

function config(): string {
  return `worker_processes 2;
http {
  metric_zone tls:1m count;
  metric tls "$ssl_protocol $scheme" on=request;
  server {
    listen 127.0.0.1:${api};
    location /status/ { api /status/; }
  }
  ${dualCertServer('a', 'ssl_session_cache shared:SSL:10m; ssl_session_timeout 10m; ssl_session_tickets off; ssl_prefer_server_ciphers on;')}
  server {
    listen 127.0.0.1:${port} ssl;
    server_name b.test;
    ssl_certificate ${dir}/b.crt;
    ssl_certificate_key ${dir}/b.key;
    location / { return 200 ${REPORT}; }
  }
  ${dualCertServer('c')}
  server {
    listen 127.0.0.1:${only13} ssl;
    ssl_certificate ${dir}/b.crt;
    ssl_certificate_key ${dir}/b.key;
    ssl_protocols TLSv1.3;
    location / { return 200 ${REPORT}; }
  }
}`;
}

beforeAll(async () => {
  ({ prefix: dir } = makePrefix('events { }'));
  certs.aRsa = makeCert(dir, 'a-rsa', 'a.test');
  certs.aEc = makeCert(dir, 'a-ec', 'a.test ec', 'ec');
  certs.b = makeCert(dir, 'b', 'b.test');
  certs.cRsa = makeCert(dir, 'c-rsa', 'c.test');
  certs.cEc = makeCert(dir, 'c-ec', 'c.test ec', 'ec');
  [port, only13, api] = await freePorts(3);
  proxy = await startProxy(config(), [port, only13, api]);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
});

interface Answer {
  body: string;
  cn: string;
  keyType: string;
}

function get(p: number, servername: string, opts: tls.ConnectionOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: p, path: '/', servername, headers: { host: servername }, rejectUnauthorized: false, agent: false, ...opts },
      (res) => {
        const peer = (res.socket as tls.TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ body, cn: String(peer.subject.CN), keyType: peer.asn1Curve !== undefined ? 'ec' : 'rsa' }));
      },
    );
    req.on('error', reject);
  });
}

describe('TLS termination', () => {
  it('SNI picks the server and its certificate; the variables say how the connection was made', async () => {
    const a = await get(port, 'a.test', RSA_ONLY);
    expect(a.cn).toBe('a.test');
    const [name, protocol, cipher, sni, on, scheme] = a.body.split('|');
    expect([name, protocol, sni, on, scheme]).toEqual(['a.test', 'TLSv1.3', 'a.test', 'on', 'https']);
    expect(cipher).toMatch(/^TLS_/);
    // b has RSA only: a client preferring ECDSA still gets b's certificate, not the default server's ECDSA one.
    const b = await get(port, 'b.test');
    expect([b.cn, b.keyType]).toEqual(['b.test', 'rsa']);
    expect(b.body.split('|')[0]).toBe('b.test');
  }, 30_000);

  it('serves the ECDSA certificate to a client that only takes ECDSA, the RSA one otherwise', async () => {
    for (const name of ['a', 'c']) {
      const ec = await get(port, `${name}.test`, { sigalgs: 'ecdsa_secp256r1_sha256' });
      expect([ec.cn, ec.keyType]).toEqual([`${name}.test ec`, 'ec']);
      const rsa = await get(port, `${name}.test`, RSA_ONLY);
      expect([rsa.cn, rsa.keyType]).toEqual([`${name}.test`, 'rsa']);
    }
    // Without SNI: the default server's certificates.
    expect((await get(port, '', RSA_ONLY)).cn).toBe('a.test');
    const tls12 = await get(port, 'a.test', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(tls12.keyType).toBe('ec');
    expect(tls12.body.split('|').slice(1, 3)).toEqual(['TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
  }, 30_000);

  it('ssl_protocols: TLS 1.1 refused by the default TLSv1.2 TLSv1.3, TLS 1.2 refused by TLSv1.3 alone', async () => {
    await expect(get(port, 'a.test', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();
    await expect(get(only13, 'x.test', { maxVersion: 'TLSv1.2' })).rejects.toThrow();
    expect((await get(only13, 'x.test')).body.split('|')[1]).toBe('TLSv1.3');
    expect((await get(port, 'a.test', { maxVersion: 'TLSv1.2' })).body.split('|')[1]).toBe('TLSv1.2');
  }, 30_000);

  it('$ssl_protocol and $scheme key metrics: handshakes counted by protocol', async () => {
    await get(port, 'a.test', { maxVersion: 'TLSv1.2' });
    await get(port, 'a.test');
    type Zone = { metrics: Record<string, number> };
    const zone = await waitFor(async () => {
      const z = (await getJson(`http://127.0.0.1:${api}/status/http/metric_zones/tls`)) as Zone;
      return (z.metrics['TLSv1.2 https'] ?? 0) >= 1 && (z.metrics['TLSv1.3 https'] ?? 0) >= 1 ? z : undefined;
    }, 30_000, 'TLS metrics');
    // The plain API listener's own requests have no protocol.
    expect(Object.keys(zone.metrics).filter((k) => !/^TLSv1\.[23] https$/.test(k))).toEqual([' http']);
  }, 40_000);

  it('garbage instead of a ClientHello closes that connection; the workers keep serving', async () => {
    const pidsBefore = new Set<string>();
    for (let i = 0; i < 4; i++) pidsBefore.add((await get(port, 'a.test')).body.split('|')[6]);
    for (const junk of ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', '\x16\x03\x01\xff\xff' + 'x'.repeat(300), '\x00'.repeat(64)]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(junk, 'latin1'));
        s.on('error', () => undefined);
        s.on('close', () => resolve());
        s.resume();
      });
    }
    for (let i = 0; i < 4; i++) expect(pidsBefore).toContain((await get(port, 'a.test')).body.split('|')[6]);
  }, 30_000);

  it('a reload reads the certificates again', async () => {
    const fresh = makeCert(dir, 'b2', 'b.test renewed');
    fs.copyFileSync(fresh.cert, `${dir}/b.crt`);
    fs.copyFileSync(fresh.key, `${dir}/b.key`);
    expect((await get(port, 'b.test')).cn).toBe('b.test');
    expect((await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload'])).code).toBe(0);
    await waitFor(async () => ((await get(port, 'b.test')).cn === 'b.test renewed' ? true : undefined), 60_000, 'the renewed certificate');
  }, 90_000);
});

describe('stopping', () => {
  it('a fast stop cuts a connection that never finished its handshake', async () => {
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
    await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
    await get(port, 'a.test');
    const started = Date.now();
    // client_header_timeout is 60 s: only the cut ends the silent connection this soon.
    await proxy.stop('SIGTERM');
    await closed;
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});

describe('TLS config errors', () => {
  const check = async (server: string) => {
    const { prefix, conf } = makePrefix(`events { }\nhttp {\n  server {\n    listen 127.0.0.1:1 ssl;\n${server}\n  }\n}\n`);
    const r = await runCli(['-p', prefix, '-c', conf, '-t']);
    expect(r.code).toBe(1);
    return r.stderr.split('\n')[0].replace(conf, 'CONF');
  };

  it('a missing key file is an [emerg] naming the path', async () => {
    expect(await check(`ssl_certificate ${certs.b.cert};\nssl_certificate_key ${dir}/nope.key;`)).toBe(
      `metricproxy: [emerg] cannot load certificate key "${dir}/nope.key": No such file or directory in CONF:5`,
    );
  });

  it('a key that does not match its certificate is an [emerg] naming the key', async () => {
    const line = await check(`ssl_certificate ${certs.b.cert};\nssl_certificate_key ${certs.aRsa.key};`);
    expect(line).toMatch(new RegExp(`^metricproxy: \\[emerg\\] SSL_CTX_use_PrivateKey\\("${certs.aRsa.key}"\\) failed \\(.*key values mismatch.*\\) in CONF:5$`));
  });

  it('listen ... ssl without a certificate, and bad values', async () => {
    expect(await check('')).toBe('metricproxy: [emerg] no "ssl_certificate" is defined for the "listen ... ssl" directive in CONF:4');
    expect(await check(`ssl_certificate ${certs.b.cert};\nssl_certificate_key ${certs.b.key};\nssl_protocols TLSv9;`)).toBe('metricproxy: [emerg] invalid value "TLSv9" in CONF:7');
    expect(await check(`ssl_certificate ${certs.b.cert};\nssl_certificate_key ${certs.b.key};\nssl_session_cache bogus;`)).toBe('metricproxy: [emerg] invalid session cache "bogus" in CONF:7');
  });
});
