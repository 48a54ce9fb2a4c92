import * as net from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientHelloServerName } from '../../../src/http/sni';

/** The first bytes a real Node TLS client sends, with `servername` (or none). */
async function clientHello(servername: string | undefined, opts: tls.ConnectionOptions = {}): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const first = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  const client = tls.connect({ host: '127.0.0.1', port, servername, ...opts });
  client.on('error', () => undefined);
  const hello = await first;
  client.destroy();
  server.close();
  return hello;
}

describe('clientHelloServerName', () => {
  it('reads the name a TLS 1.3 and a TLS 1.2 client ask for', async () => {
    expect(clientHelloServerName(await clientHello('b.test'))).toBe('b.test');
    expect(clientHelloServerName(await clientHello('www.example.org', { maxVersion: 'TLSv1.2' }))).toBe('www.example.org');
  });

  it('is empty without SNI, for a cut hello and for bytes that are not a hello', async () => {
    const hello = await clientHello('b.test');
    expect(clientHelloServerName(await clientHello(''))).toBe('');
    expect(clientHelloServerName(hello.subarray(0, 60))).toBe('');
    expect(clientHelloServerName(Buffer.from('GET / HTTP/1.1\r\nHost: b.test\r\n\r\n'.repeat(3)))).toBe('');
    expect(clientHelloServerName(Buffer.alloc(200, 0x16))).toBe('');
  });

  it('never throws on any truncation or corruption of a real hello', async () => {
    const hello = await clientHello('b.test');
    for (let n = 0; n <= hello.length; n++) expect(typeof clientHelloServerName(hello.subarray(0, n))).toBe('string');
    for (let i = 0; i < hello.length; i++) {
      const bad = Buffer.from(hello);
      bad[i] ^= 0xff;
      expect(typeof clientHelloServerName(bad)).toBe('string');
    }
  });
});
