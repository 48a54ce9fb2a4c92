import { execFile, execFileSync } from 'node:child_process';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';

/** HTTP/2 clients for the tests: Node's http2, curl --http2, and raw frames on a TLS socket with ALPN h2. */

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** An h2 session to 127.0.0.1:port for `servername` (certificates are self-signed). */
export async function h2Session(port: number, servername: string, opts: http2.SecureClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { servername, rejectUnauthorized: false, ...opts });
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** One request on `session`; `body` chunks are written one by one (no Content-Length: the stream frames it). */
export function h2Request(session: http2.ClientHttp2Session, path: string, opts: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: Buffer[] } = {}): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': opts.method ?? 'GET', ':path': path, ...opts.headers }, { endStream: opts.body === undefined });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString('latin1') }));
    stream.on('error', reject);
    if (opts.body !== undefined) {
      for (const c of opts.body) stream.write(c);
      stream.end();
    }
  });
}

/** A request on a session of its own. */
export async function h2Get(port: number, servername: string, path: string): Promise<H2Reply> {
  const session = await h2Session(port, servername);
  try {
    return await h2Request(session, path);
  } finally {
    session.close();
  }
}

/** curl with HTTP/2 (libcurl built with nghttp2); the test fails with the install command when it is missing. */
export function requireCurlHttp2(): void {
  let version = '';
  try {
    version = execFileSync('curl', ['-V'], { encoding: 'utf8' });
  } catch {
    throw new Error('curl is missing: apt-get install -y curl');
  }
  if (!/^Features:.*\bHTTP2\b/m.test(version)) throw new Error('curl has no HTTP/2 support: apt-get install -y curl');
}

/** `curl --http2 -sk` with `args`; resolves stdout. */
export function curl(args: string[]): Promise<string> {
  requireCurlHttp2();
  return new Promise((resolve, reject) => {
    execFile('curl', ['--http2', '-sk', '--max-time', '20', ...args], (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/** Frame types used by the raw client (RFC 9113 6). */
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string literal (no Huffman), with a 7-bit prefixed length. */
function literal(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length < 127) return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  const len: number[] = [127];
  for (let rest = bytes.length - 127; ; rest >>= 7) {
    if (rest < 128) {
      len.push(rest);
      break;
    }
    len.push((rest & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from(len), bytes]);
}

/**
 * A HEADERS frame: `:method` (GET or POST), `:path /`-style path, `:scheme
 * https`, `:authority`, then `extra` headers, all literal without indexing.
 */
export function headersFrame(streamId: number, o: { method?: 'GET' | 'POST'; path?: string; authority: string; extra?: Array<[string, string]>; endStream?: boolean }): Buffer {
  const parts = [Buffer.from([o.method === 'POST' ? 0x83 : 0x82, 0x87]), Buffer.from([0x04]), literal(o.path ?? '/'), Buffer.from([0x01]), literal(o.authority)];
  for (const [name, value] of o.extra ?? []) parts.push(Buffer.from([0x00]), literal(name), literal(value));
  return frame(FRAME.HEADERS, END_HEADERS | (o.endStream === false ? 0 : END_STREAM), streamId, Buffer.concat(parts));
}

export function rstStreamFrame(streamId: number, code = 0x8): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/**
 * A TLS connection speaking HTTP/2 by hand: the preface and an empty
 * SETTINGS go out, the server's SETTINGS are acknowledged (its limits then
 * apply), and every frame that comes back is kept in `frames`.
 */
export async function rawH2(port: number, servername: string): Promise<{ socket: tls.TLSSocket; frames: RawFrame[]; closed: Promise<void> }> {
  const socket = tls.connect({ port, host: '127.0.0.1', servername, ALPNProtocols: ['h2'], rejectUnauthorized: false });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.SETTINGS, 0, 0)]));
  const frames: RawFrame[] = [];
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      const f = { type: buf[3], flags: buf[4], streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
      buf = buf.subarray(9 + len);
      frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & ACK) === 0 && !socket.destroyed) socket.write(frame(FRAME.SETTINGS, ACK, 0));
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, frames, closed };
}
