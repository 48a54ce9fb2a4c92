import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { HttpContext, UpstreamAttempt } from '../http/context';
import { sendHeader } from '../http/respond';
import { logUpstreamError } from './error-log';
import { ResponseHead, responseHead, upgradeRequestHeaders } from './headers';
import { Peer, socketPathOf } from './upstream';
import { PassBinding, RetryableFailure, UpstreamWalk, upstreamUrl } from './walk';

class TunnelTimeoutError extends Error {
  override name = 'TunnelTimeoutError';
}

/**
 * Proxies an `Upgrade` request (r.upgrade set by the core's 'upgrade'
 * listener): the handshake goes to a peer picked like any request, the
 * upstream's 101 goes to the client through sendHeader (so header filters
 * and on=response counters see it), then the two sockets are piped until
 * either side closes. The request's log phase runs when the client socket
 * closes (the core's r.res 'close'), i.e. when the tunnel ends.
 */
export function proxyUpgrade(r: HttpContext, p: PassBinding): void {
  new Tunnel(r, p).start();
}

class Tunnel extends UpstreamWalk {
  private readonly headers: Record<string, string | string[]>;
  private readonly client: Socket;
  private current: TunnelAttempt | null = null;

  constructor(r: HttpContext, p: PassBinding) {
    super(r, p, false);
    this.client = r.upgrade!.socket;
    this.headers = upgradeRequestHeaders(r, p.conf.headers);
  }

  start(): void {
    const res = this.r.res;
    res.prependListener('close', () => {
      this.clientGone = true;
      this.current?.close();
    });
    this.tryNext();
  }

  protected attempt(peer: Peer): void {
    this.current = new TunnelAttempt(this, peer, this.record(peer), this.client, this.headers);
  }
}

/** One handshake on one peer, then (on 101) the tunnel itself. */
class TunnelAttempt {
  private readonly startMs = Date.now();
  private readonly req: http.ClientRequest;
  private upstream: Socket | null = null;
  private sent = false;
  private done = false;

  constructor(
    private readonly t: Tunnel,
    private readonly peer: Peer,
    private readonly rec: UpstreamAttempt,
    private readonly client: Socket,
    headers: Record<string, string | string[]>,
  ) {
    const conf = t.p.conf;
    // `timeout` covers the connect; once connected the same timer becomes the wait for the handshake answer.
    const socketPath = socketPathOf(peer.conf.host);
    const target = { host: peer.conf.host, port: peer.conf.port, socketPath, method: t.method, path: t.path, headers, agent: false, timeout: conf.connectTimeoutMs };
    const tls = t.p.tls;
    // servername '' keeps Node from sending the Host header as SNI (proxy_ssl_server_name off).
    this.req = tls === undefined ? http.request(target) : https.request({ ...target, ...tls.options, servername: tls.sni ?? '' });
    this.req.on('socket', (s: Socket) => {
      s.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        this.sent = true;
        this.rec.connectTime = this.elapsedMs() / 1000;
        this.req.setTimeout(conf.readTimeoutMs);
      });
    });
    this.req.on('timeout', () => this.req.destroy(new TunnelTimeoutError('upstream timed out')));
    this.req.on('upgrade', (res, socket, head) => this.onUpgrade(res, socket, head));
    this.req.on('response', (res) => this.onPlainResponse(res));
    this.req.on('error', (err) => this.onError(err));
    this.req.end();
  }

  /** The client went away, or the tunnel ended: settle the record and the peer once. */
  close(): void {
    if (this.done) return;
    this.done = true;
    const ms = this.elapsedMs();
    this.rec.responseTime = ms / 1000;
    // Socket counters see the whole exchange: handshake, relayed answer or tunnel traffic.
    const socket = this.upstream ?? this.req.socket;
    if (socket !== null) {
      this.rec.bytesSent = socket.bytesWritten;
      this.rec.bytesReceived = socket.bytesRead;
    }
    this.upstream?.destroy();
    this.req.destroy();
    const status = Number(this.rec.status) || 0;
    this.t.selection.free(this.peer, { failed: false, status, sent: this.rec.bytesSent, received: this.rec.bytesReceived, responseMs: ms }, Date.now());
  }

  private onUpgrade(res: http.IncomingMessage, upstream: Socket, upstreamHead: Buffer): void {
    const head = this.markHeader(res);
    const r = this.t.r;
    if (this.t.clientGone) {
      upstream.destroy();
      return;
    }
    this.upstream = upstream;
    sendHeader(r, 101, head.client);
    r.res.flushHeaders();
    const client = this.client;
    const clientHead = r.upgrade!.head;
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    upstream.setTimeout(this.t.p.conf.readTimeoutMs, () => upstream.destroy());
    upstream.on('data', (chunk: Buffer) => (r.bodyBytesSent += chunk.length));
    client.on('data', (chunk: Buffer) => (r.requestBodyBytes += chunk.length));
    upstream.pipe(client);
    client.pipe(upstream);
    // Either side ending ends both; the client's close then runs close() and the log phase.
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
  }

  /** The upstream declined the upgrade: relay its answer as an ordinary response. */
  private onPlainResponse(res: http.IncomingMessage): void {
    const head = this.markHeader(res);
    const r = this.t.r;
    sendHeader(r, res.statusCode ?? 502, head.client);
    res.on('data', (chunk: Buffer) => (r.bodyBytesSent += chunk.length));
    res.pipe(r.res);
    res.on('error', () => r.res.destroy());
  }

  private onError(err: Error): void {
    if (this.done || this.t.clientGone) return;
    const kind: RetryableFailure = err instanceof TunnelTimeoutError ? 'timeout' : 'error';
    this.rec.status = kind === 'timeout' ? '504' : '502';
    logUpstreamError(this.t.r, err, kind, this.sent ? 'header' : 'connecting', upstreamUrl(this.t.p, this.peer, this.t.path), this.t.p.tls?.dispatchName);
    this.done = true;
    const ms = this.elapsedMs();
    this.rec.responseTime = ms / 1000;
    this.t.selection.free(this.peer, { failed: true, status: 0, sent: 0, received: 0 }, Date.now());
    this.t.failed(kind, this.sent);
  }

  private markHeader(res: http.IncomingMessage): ResponseHead {
    const head = responseHead(res.rawHeaders, res.statusMessage ?? '', res.statusCode === 101);
    this.rec.status = String(res.statusCode ?? 0);
    this.rec.headerTime = this.elapsedMs() / 1000;
    this.rec.bytesReceived = head.size;
    this.t.r.upstreamHeaders = head.all;
    return head;
  }

  private elapsedMs(): number {
    return Date.now() - this.startMs;
  }
}
