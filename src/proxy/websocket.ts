import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { HttpContext, OutHeaders, UpstreamAttempt } from '../http/context';
import { sendHeader } from '../http/respond';
import { upgradeRequestHeaders } from './headers';
import type { Peer } from './upstream';
import { PassBinding, RetryableFailure, UpstreamWalk } from './walk';

class TunnelTimeoutError extends Error {
  override name = 'TunnelTimeoutError';
}

/** Headers of the upstream's 101 that the client must not see; Connection/Upgrade pass, they make the switch. */
const HIDDEN_101 = new Set(['date', 'server', 'keep-alive', 'transfer-encoding', 'content-length']);

function clientHeaders(raw: string[], hidden: ReadonlySet<string>): OutHeaders {
  const out: OutHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (hidden.has(name)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? raw[i + 1] : ([] as string[]).concat(prev, raw[i + 1]);
  }
  return out;
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
    this.r.res.prependListener('close', () => {
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
    this.req = http.request({ host: peer.conf.host, port: peer.conf.port, method: t.method, path: t.path, headers, agent: false });
    this.req.on('socket', (s: Socket) => {
      s.setTimeout(conf.connectTimeoutMs);
      s.once('connect', () => {
        this.sent = true;
        this.rec.connectTime = this.elapsedMs() / 1000;
        s.setTimeout(conf.readTimeoutMs);
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
    if (this.upstream !== null) {
      this.rec.bytesSent = this.upstream.bytesWritten;
      this.rec.bytesReceived = this.upstream.bytesRead;
      this.upstream.destroy();
    }
    this.req.destroy();
    const status = Number(this.rec.status) || 0;
    this.t.selection.free(this.peer, { failed: false, status, sent: this.rec.bytesSent, received: this.rec.bytesReceived, responseMs: ms }, Date.now());
  }

  private onUpgrade(res: http.IncomingMessage, upstream: Socket, upstreamHead: Buffer): void {
    this.markHeader(res);
    const r = this.t.r;
    if (this.t.clientGone) {
      upstream.destroy();
      return;
    }
    this.upstream = upstream;
    sendHeader(r, 101, clientHeaders(res.rawHeaders, HIDDEN_101));
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
    this.markHeader(res);
    const r = this.t.r;
    sendHeader(r, res.statusCode ?? 502, clientHeaders(res.rawHeaders, HIDDEN_101));
    res.on('data', (chunk: Buffer) => {
      this.rec.bytesReceived += chunk.length;
      r.bodyBytesSent += chunk.length;
    });
    res.pipe(r.res);
    res.on('error', () => r.res.destroy());
  }

  private onError(err: Error): void {
    if (this.done || this.t.clientGone) return;
    const kind: RetryableFailure = err instanceof TunnelTimeoutError ? 'timeout' : 'error';
    this.rec.status = kind === 'timeout' ? '504' : '502';
    this.done = true;
    const ms = this.elapsedMs();
    this.rec.responseTime = ms / 1000;
    this.t.selection.free(this.peer, { failed: true, status: 0, sent: 0, received: 0 }, Date.now());
    this.t.failed(kind, this.sent);
  }

  private markHeader(res: http.IncomingMessage): void {
    this.rec.status = String(res.statusCode ?? 0);
    this.rec.headerTime = this.elapsedMs() / 1000;
    this.t.r.upstreamHeaders = res.headers;
  }

  private elapsedMs(): number {
    return Date.now() - this.startMs;
  }
}
