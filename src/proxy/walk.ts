import type { UpstreamTls } from './upstream-tls';
import type { HttpContext, UpstreamAttempt } from '../http/context';
import { answer } from '../http/answer';
import { FT, ProxyLocConf } from './conf';
import type { PeerPools } from './pools';
import { PassUrl, upstreamUri } from './target';
import type { Peer, PeerSelection, Upstream } from './upstream';

/** Everything a proxy_pass location needs at request time, bound at load. */
export interface PassBinding {
  url: PassUrl;
  upstream: Upstream;
  conf: ProxyLocConf;
  /** The matched location's prefix, replaced by the URI part of proxy_pass. */
  locationPrefix: string;
  pools: PeerPools;
  /** Set for `proxy_pass https://`. */
  tls: UpstreamTls | undefined;
}

/** The upstream as nginx's error log names it: scheme, peer address, request path. */
export function upstreamUrl(p: PassBinding, peer: Peer, path: string): string {
  return `${p.tls === undefined ? 'http' : 'https'}://${peer.addr}${path}`;
}

/** Key of the request's proxy state in `r.moduleCtx` ($proxy_host reads it). */
export const PROXY_CTX = 'proxy';

/** nginx retries these only with `non_idempotent` once the request went out. */
const NON_IDEMPOTENT = new Set(['POST', 'LOCK', 'PATCH']);

export type RetryableFailure = 'error' | 'timeout' | 'invalid_header';

/**
 * One request's walk over an upstream's peers (nginx's ngx_http_upstream_next
 * loop): pick a peer, try it, and on failure move on per proxy_next_upstream
 * or answer 502/504. Subclasses make the attempt (plain HTTP, WebSocket).
 */
export abstract class UpstreamWalk {
  readonly selection: PeerSelection;
  readonly method: string;
  readonly path: string;
  clientGone = false;

  constructor(
    readonly r: HttpContext,
    readonly p: PassBinding,
    /** A request body is streamed: once it started going out it cannot be replayed. */
    readonly hasBody: boolean,
  ) {
    const input = { hashKey: p.upstream.hashKey?.eval(r), clientAddr: r.req.socket.remoteAddress };
    this.selection = p.upstream.select(p.conf.nextUpstreamTries, input);
    this.method = r.req.method ?? 'GET';
    this.path = upstreamUri({ passUri: p.url.uri, locationPrefix: p.locationPrefix, uri: r.uri, args: r.args, rawTarget: r.req.url ?? '/' });
    // Set before headers are evaluated: proxy_set_header values may use $proxy_host.
    r.moduleCtx[PROXY_CTX] = this;
  }

  protected abstract attempt(peer: Peer): void;

  tryNext(): void {
    if (this.clientGone) return;
    const peer = this.selection.next(Date.now());
    if (peer === undefined) this.noLivePeers();
    else this.attempt(peer);
  }

  /** A fresh $upstream_* record for an attempt on `peer`. */
  protected record(peer: Peer): UpstreamAttempt {
    const rec: UpstreamAttempt = { addr: peer.addr, status: '-', bytesReceived: 0, bytesSent: 0 };
    this.r.upstreams.push(rec);
    return rec;
  }

  /**
   * Whether a failed attempt may move on to the next peer: tries left, the
   * condition enabled, and the request replayable — a streamed body cannot
   * be sent twice, a non-idempotent request only with `non_idempotent`.
   */
  mayRetry(ft: number, sent: boolean, triesLeft: number): boolean {
    const mask = this.p.conf.nextUpstream;
    if (triesLeft <= 0 || (mask & ft) === 0) return false;
    if (!sent) return true;
    if (this.hasBody) return false;
    return !NON_IDEMPOTENT.has(this.method) || (mask & FT.non_idempotent) !== 0;
  }

  /** An attempt failed before anything reached the client: next peer, or 502/504. */
  failed(kind: RetryableFailure, sent: boolean): void {
    if (this.mayRetry(FT[kind], sent, this.selection.remaining)) {
      // Leave the transport's callback stack before dispatching again.
      queueMicrotask(() => this.tryNext());
      return;
    }
    answer(this.r, kind === 'timeout' ? 504 : 502, undefined);
  }

  /** nginx's "no live upstreams": the attempt is named after the upstream, and 502. */
  private noLivePeers(): void {
    this.r.upstreams.push({ addr: this.p.upstream.name, status: '502', responseTime: 0, bytesReceived: 0, bytesSent: 0 });
    answer(this.r, 502, undefined);
  }
}
