import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { startBackend } from './proc';

/** Test upstreams on 127.0.0.1: well-behaved ones that record, and ones that misbehave on purpose. */

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Backend = Awaited<ReturnType<typeof startBackend>>;

/**
 * Answers 200 `ok <url>` after reading the whole body (`?delay=MS` waits
 * that long first), and records every request it got, the connections it
 * accepted and the most requests it had in flight at once (since the last
 * time that was asked).
 */
export async function recordingBackend(): Promise<Backend & { seen: Seen[]; connections(): number; maxInFlight(): number }> {
  const seen: Seen[] = [];
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const b = await startBackend((req, res) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.on('close', () => inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('latin1') });
      const delay = Number(/[?&]delay=(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
      setTimeout(() => res.end(`ok ${req.url}`), delay);
    });
  });
  // Like the proxy, keep every header: the tests count what arrives.
  b.server.maxHeadersCount = 0;
  b.server.on('connection', () => connections++);
  const takeMaxInFlight = () => {
    const max = maxInFlight;
    maxInFlight = inFlight;
    return max;
  };
  return { ...b, seen, connections: () => connections, maxInFlight: takeMaxInFlight };
}

export interface TcpBackend {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections currently open. */
  open(): number;
  close(): Promise<void>;
}

/**
 * A raw TCP upstream: `onConnection` decides what each accepted socket
 * gets (garbage, a reset, silence). Tracks its sockets so close() ends them.
 */
export async function tcpBackend(onConnection: (socket: net.Socket) => void): Promise<TcpBackend> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads a request head from a raw socket, then calls `then` (once). */
export function afterRequestHead(socket: net.Socket, then: () => void): void {
  let head = '';
  const onData = (d: Buffer) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    socket.off('data', onData);
    then();
  };
  socket.on('data', onData);
}

/** Counts of how requests to a backend ended: the body (or response) completed, or was cut. */
export interface Endings {
  completed: number;
  cut: number;
}

/**
 * Reads request bodies to the end and answers with the byte count; records
 * the URL of every request that reached it, and counts bodies that arrived
 * whole and those cut by the client going away.
 */
export async function sinkBackend(): Promise<Backend & { endings: Endings; started: Set<string> }> {
  const endings: Endings = { completed: 0, cut: 0 };
  const started = new Set<string>();
  const b = await startBackend((req, res) => {
    started.add(req.url ?? '');
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      endings.completed++;
      res.end(String(bytes));
    });
    req.on('close', () => {
      if (!req.complete) endings.cut++;
    });
  });
  return { ...b, endings, started };
}

/**
 * Streams 64 KiB chunks, `?bytes=N` in all (endless without it); counts
 * responses that went out whole and those the proxy cut short.
 */
export async function streamingBackend(): Promise<Backend & { endings: Endings }> {
  const endings: Endings = { completed: 0, cut: 0 };
  const chunk = Buffer.alloc(64 * 1024, 120);
  const b = await startBackend((req, res) => {
    const limit = Number(/[?&]bytes=(\d+)/.exec(req.url ?? '')?.[1] ?? Infinity);
    let sent = 0;
    res.writeHead(200, Number.isFinite(limit) ? { 'content-length': limit } : {});
    const timer = setInterval(() => {
      const n = Math.min(chunk.length, limit - sent);
      sent += n;
      if (sent >= limit) {
        clearInterval(timer);
        res.end(chunk.subarray(0, n));
      } else res.write(chunk);
    }, 2);
    res.on('close', () => {
      clearInterval(timer);
      if (res.writableFinished) endings.completed++;
      else endings.cut++;
    });
  });
  return { ...b, endings };
}

/**
 * An upstream that answers the first request of each connection (`fresh`,
 * keep-alive) and closes the connection when a second request arrives on
 * it — deterministically what happens when an upstream's idle timer closes
 * a kept-alive connection just as the proxy sends on it.
 */
export function startKeepAliveClosing(): Promise<TcpBackend> {
  return tcpBackend((socket) => {
    let heads = 0;
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        buffered = buffered.slice(end + 4);
        if (++heads === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nfresh');
        else return void socket.end();
      }
    });
  });
}

/**
 * A minimal RFC 6455 echo on `server`'s upgrades: unmasks client frames and
 * echoes them unmasked (payloads < 126 bytes); a close frame is echoed, then
 * the socket ends. A request for `decline` is refused with 426 instead;
 * `onTunnel` sees every socket switched to WebSocket (the backend's close()
 * does not know upgraded ones).
 */
export function attachWebSocketEcho(server: http.Server, opts: { decline?: string; onTunnel?: (socket: net.Socket) => void } = {}): void {
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    if (opts.decline !== undefined && req.url === opts.decline) {
      socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno switch');
      return;
    }
    opts.onTunnel?.(socket);
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (frame: Buffer) => {
      const opcode = frame[0] & 0x0f;
      const len = frame[1] & 0x7f;
      const mask = frame.subarray(2, 6);
      const payload = Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]));
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]));
      if (opcode === 0x8) socket.end();
    });
  });
}
