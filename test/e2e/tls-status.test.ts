import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from '../helpers/certs';
import { freePorts, getJson, makePrefix, Proxy, request, startProxy } from '../helpers/proc';
import { waitFor } from '../helpers/sys';

/**
 * Angie's `ssl` counters of a server zone (handshaked, reuses, timedout,
 * failed), summed over two workers, counted in the zone of the server SNI
 * chose; only TLS servers show them; Prometheus rows from prometheus_all.conf.
 */

interface SslCounts {
  handshaked: number;
  reuses: number;
  timedout: number;
  failed: number;
}
type Zones = Record<string, { ssl?: SslCounts; requests: { total: number } }>;

let dir: string;
let proxy: Proxy;
let tlsPort: number;
let api: number;

beforeAll(async () => {
  ({ prefix: dir } = makePrefix('events { }'));
  const a = makeCert(dir, 'a', 'a.test');
  const b = makeCert(dir, 'b', 'b.test');
  [tlsPort, api] = await freePorts(2);
  const server = (name: string, cert: { cert: string; key: string }) => `
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    server_name ${name}.test;
    status_zone ${name};
    client_header_timeout 1s;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 ${name}; }
  }`;
  proxy = await startProxy(
    `worker_processes 2;
http {
  ${server('a', a)}
  ${server('b', b)}
  server {
    listen 127.0.0.1:${api};
    status_zone plain;
    location /status/ { api /status/; }
    location /metrics { prometheus all; }
  }
  include ${path.resolve(__dirname, '../../conf/prometheus_all.conf')};
}`,
    [tlsPort, api],
  );
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** One TLS 1.2 connection for `servername` (resuming `session` if given): its session once the handshake ended. */
function handshake(servername: string, session?: Buffer): Promise<{ session: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port: tlsPort, host: '127.0.0.1', servername, rejectUnauthorized: false, maxVersion: 'TLSv1.2', session });
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused();
      const own = socket.getSession()!;
      socket.end();
      resolve({ session: own, reused });
    });
    socket.once('error', reject);
  });
}

/** A connection that ends in a failed handshake: bytes that are no ClientHello, or a refused protocol. */
function failedHandshake(kind: 'garbage' | 'tls1.0'): Promise<void> {
  return new Promise((resolve) => {
    if (kind === 'garbage') {
      const socket = net.connect(tlsPort, '127.0.0.1', () => socket.write('this is not a TLS ClientHello at all\r\n\r\n'));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      return;
    }
    const socket = tls.connect({ port: tlsPort, host: '127.0.0.1', servername: 'b.test', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    socket.on('error', () => resolve());
    socket.on('secureConnect', () => socket.destroy(new Error('TLS 1.0 was accepted')));
  });
}

const zones = async () => (await getJson(`http://127.0.0.1:${api}/status/http/server_zones/`)) as Zones;

describe('server zone ssl counters', () => {
  it('count handshakes, reuses, failures and timeouts in the zone of the server SNI chose, over both workers', async () => {
    for (let i = 0; i < 3; i++) await handshake('a.test');
    // The load's workers share their ticket keys: a session from one resumes on any (connections
    // alternate between the two workers).
    const first = await handshake('b.test');
    for (let i = 0; i < 4; i++) expect((await handshake('b.test', first.session)).reused).toBe(true);
    await failedHandshake('tls1.0');
    await failedHandshake('garbage');
    // Silent: no ClientHello within client_header_timeout (1 s) of the default server (a).
    const silent = net.connect(tlsPort, '127.0.0.1');
    silent.on('error', () => undefined);
    await new Promise((resolve) => silent.on('close', resolve));

    const want = (v: Zones) => v.a.ssl?.timedout === 1 && (v.a.ssl?.failed ?? 0) + (v.b.ssl?.failed ?? 0) === 2 && v.b.ssl?.handshaked === 5;
    const seen = await waitFor(async () => {
      const v = await zones();
      return want(v) ? v : undefined;
    }, 20_000, 'the ssl counters');
    expect(seen.a.ssl).toEqual({ handshaked: 3, reuses: 0, timedout: 1, failed: seen.a.ssl!.failed });
    expect(seen.b.ssl).toEqual({ handshaked: 5, reuses: 4, timedout: 0, failed: seen.b.ssl!.failed });
    // The refused TLS 1.0 hello named b.test; garbage names no server, so the default server (a) counts it.
    expect([seen.a.ssl!.failed, seen.b.ssl!.failed]).toEqual([1, 1]);
    expect(Object.keys(seen.a)).toEqual(['ssl', 'requests', 'responses', 'data']);
    expect(seen.plain.ssl).toBeUndefined();
  });

  it('prometheus all shows them with Angie\'s names', async () => {
    const text = (await request(`http://127.0.0.1:${api}/metrics`)).body;
    expect(text).toContain('angie_http_server_zones_ssl_handshaked{zone="a"} 3');
    expect(text).toContain('angie_http_server_zones_ssl_reuses{zone="b"} 4');
    expect(text).toContain('angie_http_server_zones_ssl_timedout{zone="a"} 1');
    expect(text).not.toContain('angie_http_server_zones_ssl_handshaked{zone="plain"}');
  });
});
