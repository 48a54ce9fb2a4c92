import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { inTurn, noteAccepted, noteTunnel, staleWithoutRequest } from './in-turn';
import { handleRequest } from './pipeline';
import type { Runtime } from './runtime';
import type { HandshakeOutcome } from './builder';
import type { ServerConf } from './conf';
import { validateHost } from './request-host';
import { ListenGroup } from './servers';
import { acceptSimpleRequests } from './simple-requests';
import { clientHelloServerName } from './sni';
import { Http2Sessions, alpnChoice, offersHttp2 } from './http2-listener';

const CLIENT_ERRORS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Time-out',
};

/**
 * Node checks headersTimeout only every connectionsCheckingInterval (30 s by
 * default): check four times per timeout so a slow client is cut within 25%.
 */
function checkingInterval(headerTimeoutMs: number): number {
  return Math.max(50, Math.min(30_000, Math.floor(headerTimeoutMs / 4)));
}

/** The response still going out on a connection (Node's `_httpMessage`), if any. */
function inFlightResponse(socket: Socket): http.ServerResponse | null {
  return (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage ?? null;
}

/**
 * Malformed HTTP: answer 400 (431 for oversized headers) and close only that
 * connection. Bytes pipelined behind a complete request still being answered fail to
 * parse before that answer is out: the error answer waits for it, as nginx
 * reads the next request only after finishing the last — written at once it
 * would overtake the pending response, which the close would then cut.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (socket.writableEnded) return; // already closing after its last response
  if (!socket.writable || (err.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy();
    return;
  }
  const pending = inFlightResponse(socket);
  if (pending?.writableEnded) {
    // Answered already (refused before its body was read): the connection ends with that answer.
    pending.once('finish', () => socket.destroySoon());
    return;
  }
  // Its own body failing to parse (a bad chunk) is answered now: that response can never complete.
  if (pending !== null && pending.req.complete) {
    pending.once('finish', () => onClientError(err, socket));
    return;
  }
  answerAndClose(socket, CLIENT_ERRORS[err.code ?? ''] ?? '400 Bad Request');
}

/** An nginx-style error page written straight to a socket Node's server no longer answers on; then close. */
function answerAndClose(socket: Socket, status: string): void {
  const body = `<html>\r\n<head><title>${status}</title></head>\r\n<body>\r\n<center><h1>${status}</h1></center>\r\n<hr><center>metricproxy</center>\r\n</body>\r\n</html>\r\n`;
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

/** TLS options of an `ssl` address: the default server's settings (a client without SNI gets them). */
function tlsOptions(group: ListenGroup, rt: Runtime, h2: Http2Sessions | undefined): https.ServerOptions {
  // The handshake must finish within the default server's client_header_timeout, like the head after it.
  const alpn = h2 === undefined ? {} : { ALPNCallback: alpnChoice(group) };
  return { ...group.defaultServer.tls, ...ticketKeys(rt), ...alpn, handshakeTimeout: group.defaultServer.clientHeaderTimeoutMs };
}

/** The load's shared ticket keys: a session a client got from one worker resumes on any other. */
function ticketKeys(rt: Runtime): { ticketKeys?: Buffer } {
  return rt.tlsTicketKeys === undefined ? {} : { ticketKeys: rt.tlsTicketKeys };
}

type HandshakeReport = (server: ServerConf, outcome: HandshakeOutcome) => void;

function handshakeReport(rt: Runtime): HandshakeReport {
  return (server, outcome) => {
    for (const hook of rt.handshakeHooks) hook(server, outcome);
  };
}

type ChildTlsSocket = tls.TLSSocket & { _parent?: Socket };

/** The server SNI chose for a raw connection: its zone counts the handshake. */
const handshakeServer = new WeakMap<Socket, ServerConf>();

/** The server SNI chose for a TLS connection (the default server when it named none). */
function sniServer(socket: ChildTlsSocket, group: ListenGroup): ServerConf {
  return (socket._parent && handshakeServer.get(socket._parent)) || group.defaultServer;
}

type TlsServer = https.Server & { _sharedCreds: tls.SecureContext; requestCert: boolean; rejectUnauthorized: boolean };

/**
 * SNI chooses the server, and with it every certificate it has (RSA and
 * ECDSA), as nginx does. Node's SNICallback switches in only one
 * certificate of the chosen context and leaves the default server's other
 * key types in place, so the choice is made before Node's TLS socket
 * exists: the first bytes are read, their ClientHello's name picks the
 * context the socket is created with, and the bytes are put back.
 */
function chooseCertificatesBySni(server: https.Server, group: ListenGroup, rt: Runtime): void {
  const report = handshakeReport(rt);
  const tlsServer = server as TlsServer;
  const createTlsSocket = server.listeners('connection').find((l) => l.name === 'tlsConnectionListener');
  if (createTlsSocket === undefined || tlsServer._sharedCreds === undefined) throw new Error('node:tls has no tlsConnectionListener or _sharedCreds to choose certificates by SNI');
  server.removeListener('connection', createTlsSocket as (s: Socket) => void);
  const contexts = new Map<tls.SecureContextOptions, tls.SecureContext>([[group.defaultServer.tls!, tlsServer._sharedCreds]]);
  const contextOf = (options: tls.SecureContextOptions): tls.SecureContext => {
    let ctx = contexts.get(options);
    if (ctx === undefined) contexts.set(options, (ctx = tls.createSecureContext({ ...options, ...ticketKeys(rt) })));
    return ctx;
  };
  const timeoutMs = group.defaultServer.clientHeaderTimeoutMs;
  server.prependListener('connection', (socket: Socket) => {
    // No hello within client_header_timeout: a timed-out handshake of the default server (the
    // handshake itself is bounded by the server's handshakeTimeout, reported as tlsClientError).
    socket.setTimeout(timeoutMs, () => {
      report(group.defaultServer, 'timedout');
      socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(first);
      const named = group.select(validateHost(clientHelloServerName(first)) ?? '').server;
      const chosen = named.tls !== undefined ? named : group.defaultServer;
      handshakeServer.set(socket, chosen);
      const shared = tlsServer._sharedCreds;
      tlsServer._sharedCreds = contextOf(chosen.tls!);
      // ssl_verify_client asks for a certificate; a missing or bad one is the request's 400, not a failed handshake.
      tlsServer.requestCert = chosen.tlsVerifyClient !== 'off';
      tlsServer.rejectUnauthorized = false;
      try {
        createTlsSocket.call(server, socket);
      } finally {
        tlsServer._sharedCreds = shared;
      }
    });
  });
}

function createServer(rt: Runtime, group: ListenGroup, draining: () => boolean, h2: Http2Sessions | undefined): http.Server {
  const ka = group.defaultServer.keepaliveTimeoutMs;
  // As in nginx, the default server of the address decides until the Host header is read.
  const headersTimeout = group.defaultServer.clientHeaderTimeoutMs;
  const options: http.ServerOptions = {
    keepAliveTimeout: ka > 0 ? ka : 1,
    requestTimeout: 0,
    headersTimeout,
    connectionsCheckingInterval: checkingInterval(headersTimeout),
    maxHeaderSize: group.defaultServer.maxHeaderBytes,
  };
  const create = group.ssl ? (h: http.RequestListener) => https.createServer({ ...options, ...tlsOptions(group, rt, h2) }, h) : (h: http.RequestListener) => http.createServer(options, h);
  const server = create(
    (req, res) =>
      inTurn(req.socket, res, () => {
        // While draining, answer what is in flight and close: the connection must not outlive the worker.
        if (ka === 0 || draining()) res.shouldKeepAlive = false;
        handleRequest(rt, group, req, res);
      }),
  );
  // Node keeps only the first 2000 headers and drops the rest silently; a proxy must pass the head
  // whole (nginx has no count limit). maxHeaderSize bounds it.
  server.maxHeadersCount = 0;
  if (!group.ssl) acceptSimpleRequests(server, headersTimeout);
  if (group.ssl) chooseCertificatesBySni(server as unknown as https.Server, group, rt);
  h2?.routeByAlpn(server as unknown as https.Server, (socket) => sniServer(socket, group));
  server.on('clientError', onClientError);
  // A proxy without a CONNECT method: nginx parses the request, answers 400 and logs it (Node would
  // just close). Node hands the socket over without a response object: one is made for the pipeline.
  server.on('connect', (req: http.IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => socket.destroySoon());
    handleRequest(rt, group, req, res);
  });
  for (const hook of rt.connectionHooks) server.on('connection', hook);
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    noteTunnel(socket);
    // The response object only carries error answers; a proxied tunnel writes to the socket itself.
    // Its 'close' (when the socket closes) runs the log phase, so on=end fires when the tunnel ends.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    socket.on('error', () => undefined);
    // An answer that is not a switch (404, 403, 502, `return`, a declining upstream's reply) ends
    // with res.end(): nothing else would close this raw socket, which Node's server no longer
    // watches. A tunnel never ends its response. destroySoon, as Node does after `Connection: close`:
    // a client that never closes its side must not hold the socket open.
    res.once('finish', () => socket.destroySoon());
    handleRequest(rt, group, req, res, { socket, head });
  });
  return server;
}

/**
 * nginx removes a unix socket file left by an earlier run before binding.
 * Only a stale one: with several workers (and across reloads) the file may
 * be the live socket the master shares, which still accepts connections.
 */
async function removeStaleSocket(path: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => resolve(false));
  });
  if (!live) fs.rmSync(path, { force: true });
}

/** The listening sockets of one worker: one http.Server per address:port. */
export class Listeners {
  private readonly servers: http.Server[] = [];
  /** Every accepted connection still open, upgraded ones (tunnels) included. */
  private readonly sockets = new Set<Socket>();
  /** TLS connections still before or in their handshake: only a fast stop cuts them (timeouts bound the rest). */
  private readonly handshaking = new Set<Socket>();
  /** The HTTP/2 sessions of each address that offers h2. */
  private readonly http2: Http2Sessions[] = [];
  private draining = false;

  constructor(private readonly rt: Runtime) {}

  async listen(): Promise<void> {
    for (const group of this.rt.listens.values()) {
      const h2 = offersHttp2(this.rt, group) ? new Http2Sessions(this.rt, (req, res) => handleRequest(this.rt, group, req, res)) : undefined;
      if (h2 !== undefined) this.http2.push(h2);
      const server = createServer(this.rt, group, () => this.draining, h2);
      // With TLS, requests ride the TLS socket: that is the connection to track once the handshake is done.
      server.on(group.ssl ? 'secureConnection' : 'connection', (socket: Socket) => {
        // Node caches a socket's addresses on first read; read now, they outlive the socket (aborted
        // requests, tunnels) for $remote_addr, $server_addr and their ports in the log phase.
        void socket.remoteAddress;
        void socket.localAddress;
        noteAccepted(socket, group.defaultServer.clientHeaderTimeoutMs);
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      });
      if (group.ssl) this.trackHandshakes(server, group);
      this.servers.push(server);
      if (group.host.startsWith('unix:')) await removeStaleSocket(group.host.slice(5));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(group.host.startsWith('unix:') ? { path: group.host.slice(5) } : { port: group.port, host: group.host === '' ? undefined : group.host }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  }

  private trackHandshakes(server: http.Server, group: ListenGroup): void {
    const report = handshakeReport(this.rt);
    const serverOf = (socket: ChildTlsSocket) => sniServer(socket, group);
    server.on('connection', (raw: Socket) => {
      this.handshaking.add(raw);
      raw.once('close', () => this.handshaking.delete(raw));
    });
    server.on('secureConnection', (socket: ChildTlsSocket) => {
      if (socket._parent !== undefined) this.handshaking.delete(socket._parent);
      report(serverOf(socket), socket.isSessionReused() ? 'reused' : 'handshaked');
    });
    // A failed handshake (garbage, a refused protocol, too slow) closes that connection only.
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: ChildTlsSocket) => {
      report(serverOf(socket), err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timedout' : 'failed');
      socket.destroy();
    });
  }

  /**
   * Stops accepting. Graceful: in-flight requests finish and each
   * connection closes as soon as it turns idle; one that sends no request
   * within client_header_timeout is closed too. WebSocket tunnels stay
   * until either side closes them (or `cut()`). Fast: every connection is cut.
   */
  async close(graceful: boolean): Promise<void> {
    this.draining = true;
    for (const h2 of this.http2) h2.goaway();
    const sweep = setInterval(() => {
      this.servers.forEach((s) => s.closeIdleConnections());
      const now = Date.now();
      for (const socket of this.sockets) if (!this.isHttp2(socket) && staleWithoutRequest(socket, now)) socket.destroy();
    }, 100);
    try {
      const closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      if (!graceful) this.cut();
      await closed;
    } finally {
      clearInterval(sweep);
    }
  }

  private isHttp2(socket: Socket): boolean {
    return this.http2.some((h2) => h2.owns(socket));
  }

  /** Connections still open (tunnels included). */
  openConnections(): number {
    return this.sockets.size;
  }

  /**
   * Cuts every open connection: requests in flight and tunnels alike (Node's
   * closeAllConnections does not know upgraded sockets). Each one's log
   * phase runs as its socket closes.
   */
  cut(): void {
    for (const s of this.servers) s.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    for (const socket of this.handshaking) socket.destroy();
  }
}
