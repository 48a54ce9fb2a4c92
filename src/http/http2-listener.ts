import type { IncomingMessage, ServerResponse } from 'node:http';
import * as http2 from 'node:http2';
import type * as https from 'node:https';
import type { Socket } from 'node:net';
import type * as tls from 'node:tls';
import type { ServerConf } from './conf';
import { http1Shaped } from './http2-request';
import { validateHost } from './request-host';
import type { Runtime } from './runtime';
import type { ListenGroup } from './servers';

/**
 * HTTP/2 on a TLS address. HTTP/1.1 and h2 share the port and ALPN picks:
 * the HTTP/1 server keeps every connection that did not choose h2 (its
 * parser, timeouts and limits unchanged), and each h2 connection becomes a
 * session of Node's HTTP/2 server set up for the server SNI chose, as
 * nginx takes the h2 settings of that server. Streams run concurrently,
 * each through the same pipeline an HTTP/1 request takes.
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The ALPN names nginx offers after h2, most preferred first. */
const HTTP1_NAMES = ['http/1.1', 'http/1.0', 'http/0.9'];

/** Whether any server of the address offers h2 (`listen … http2` on it, or `http2 on`). */
export function offersHttp2(rt: Runtime, group: ListenGroup): boolean {
  if (!group.ssl) return false;
  if (group.http2) return true;
  return rt.servers.some((s) => s.http2.enabled && s.listens.some((l) => l.host === group.host && l.port === group.port));
}

/**
 * ALPN as nginx answers it: h2 when the server the client names offers it,
 * else an HTTP/1 name; a client offering none of them fails the handshake.
 */
export function alpnChoice(group: ListenGroup): (info: { servername: string; protocols: string[] }) => string | undefined {
  return ({ servername, protocols }) => {
    // Node passes `false` for a hello without SNI.
    const named = group.select(validateHost(typeof servername === 'string' ? servername : '') ?? '').server;
    const h2 = group.http2 || (named.tls !== undefined ? named : group.defaultServer).http2.enabled;
    return (h2 ? ['h2', ...HTTP1_NAMES] : HTTP1_NAMES).find((p) => protocols.includes(p));
  };
}

/** The h2 sessions of one address, and Node's HTTP/2 servers that run them (one per server SNI chose). */
export class Http2Sessions {
  private readonly byServer = new Map<ServerConf, http2.Http2Server>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new WeakSet<Socket>();
  /**
   * Each session's TLS connection. Node's `session.socket` is a proxy that
   * throws once the session is gone, and the log phase of a cut stream reads
   * $remote_addr after that.
   */
  private readonly connectionOf = new WeakMap<http2.Http2Session, tls.TLSSocket>();
  /** The connection being handed to Node's HTTP/2 server (it emits 'session' synchronously). */
  private arriving: tls.TLSSocket | undefined;
  private closing = false;

  constructor(
    private readonly rt: Runtime,
    private readonly handle: Handler,
  ) {}

  /**
   * Takes the TLS connections that chose h2 from the HTTP/1 server: its own
   * connection listener runs only for the others.
   */
  routeByAlpn(server: https.Server, serverOf: (socket: tls.TLSSocket) => ServerConf): void {
    const http1 = server.listeners('secureConnection').find((l) => l.name === 'connectionListener') as ((s: tls.TLSSocket) => void) | undefined;
    if (http1 === undefined) throw new Error('node:https has no connectionListener to share the port with HTTP/2');
    server.removeListener('secureConnection', http1);
    server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol === 'h2') this.serve(socket, serverOf(socket));
      else http1.call(server, socket);
    });
  }

  /** Whether the connection is an h2 session (the HTTP/1 idle and head timers do not apply to it). */
  owns(socket: Socket): boolean {
    return this.sockets.has(socket);
  }

  /** Graceful stop: every session gets GOAWAY, finishes its open streams and closes. */
  goaway(): void {
    this.closing = true;
    for (const session of this.sessions) session.close();
  }

  private serve(socket: tls.TLSSocket, server: ServerConf): void {
    this.sockets.add(socket);
    this.arriving = socket;
    try {
      this.serverFor(server).emit('connection', socket);
    } finally {
      this.arriving = undefined;
    }
  }

  private serverFor(server: ServerConf): http2.Http2Server {
    let h2 = this.byServer.get(server);
    if (h2 !== undefined) return h2;
    h2 = http2.createServer(sessionOptions(server));
    h2.on('session', (session: http2.ServerHttp2Session) => this.track(session, server));
    h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const shaped = http1Shaped(req, res, this.connectionOf.get(req.stream.session!)!);
      this.handle(shaped.req, shaped.res);
    });
    this.byServer.set(server, h2);
    return h2;
  }

  private track(session: http2.ServerHttp2Session, server: ServerConf): void {
    this.sessions.add(session);
    this.connectionOf.set(session, this.arriving!);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', (err: NodeJS.ErrnoException) => this.rt.errorLog.log('info', `client HTTP/2 session error: ${err.code ?? err.message}`));
    closeWhenIdle(session, server);
    countRefusedStreams(session, (streams) => this.rt.refusedStreamHooks.forEach((hook) => hook(server, streams)));
    if (this.closing) session.close();
  }
}

/**
 * The server's limits as HTTP/2 settings: http2_max_concurrent_streams, and
 * large_client_header_buffers as the header list size (nghttp2 resets a
 * stream whose header list is larger). Node's own cap of 128 header fields
 * would refuse heads nginx takes: the byte limit governs instead (each field
 * counts at least 32 bytes in a header list's size, RFC 9113 6.5.2).
 */
function sessionOptions(server: ServerConf): http2.ServerOptions {
  return {
    settings: { maxConcurrentStreams: server.http2.maxConcurrentStreams, maxHeaderListSize: server.maxHeaderBytes },
    maxHeaderListPairs: Math.ceil(server.maxHeaderBytes / 32) + 4,
  };
}

/**
 * The idle timeouts nginx 1.19.7+ applies to HTTP/2: a new session must
 * open a stream within client_header_timeout, and a session without open
 * streams closes (GOAWAY) after keepalive_timeout.
 */
function closeWhenIdle(session: http2.ServerHttp2Session, server: ServerConf): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(() => session.close(), Math.max(1, ms));
  };
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once('close', () => {
      if (--open === 0 && !session.closed) arm(server.keepaliveTimeoutMs);
    });
  });
  session.once('close', () => clearTimeout(timer));
  arm(server.clientHeaderTimeoutMs);
}

/**
 * Streams nghttp2 refused before Node made them requests (a header list over
 * the limit, streams past a flood's cut-off): client stream ids are odd and
 * rise, so ids skipped between two requests, or processed after the last
 * one when the client closes, were refused.
 */
function countRefusedStreams(session: http2.ServerHttp2Session, count: (streams: number) => void): void {
  let lastId = -1;
  const refusedUpTo = (id: number) => {
    const skipped = (id - lastId) / 2 - 1;
    if (skipped > 0) count(skipped);
    lastId = id;
  };
  session.on('stream', (stream: http2.ServerHttp2Stream) => refusedUpTo(stream.id ?? lastId + 2));
  session.socket.once('end', () => {
    const last = session.destroyed ? undefined : session.state.lastProcStreamID;
    if (last !== undefined && last > lastId) refusedUpTo(last + 2);
  });
}
