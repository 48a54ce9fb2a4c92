import { IncomingMessage, STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ContentHandler } from '../http/conf';
import type { HttpContext, UpstreamAttempt } from '../http/context';
import { CORE } from '../http/conf';
import { hasHttp2Body } from '../http/http2-request';
import { failRequest } from '../http/pipeline';
import { endResponse, sendHeader } from '../http/respond';
import { answer, interceptsUpstream, tryErrorPage } from '../http/answer';
import { BodyTooLargeError, ClientBodyError, RequestBody, SendTimeoutError } from './body';
import { NOT_A_FAILURE, STATUS_FT } from './conf';
import { logUpstreamError } from './error-log';
import { ResponseHead, requestHeadSize, responseHead, upstreamRequestHeaders } from './headers';
import type { Peer } from './upstream';
import { PassBinding, UpstreamWalk, upstreamUrl } from './walk';
import { proxyUpgrade } from './websocket';

/** A reason phrase Node will accept on the status line. */
const SAFE_REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Why an attempt ended early; the proxy_next_upstream words, plus three that never retry. */
type FailureKind = 'error' | 'timeout' | 'invalid_header' | 'client' | 'internal' | 'too_large';

class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

class ReadTimeoutError extends Error {
  override name = 'ReadTimeoutError';
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
const INTERNAL_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

function classify(err: Error, clientGone: boolean): FailureKind {
  if (err instanceof BodyTooLargeError) return 'too_large';
  if (clientGone || err instanceof ClientGoneError || err instanceof ClientBodyError) return 'client';
  if (err instanceof SendTimeoutError || err instanceof ReadTimeoutError) return 'timeout';
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  // undici leaves `code` unset for some parse errors (a reply that is not HTTP at all).
  if (code.startsWith('HPE_') || err.name === 'HTTPParserError') return 'invalid_header';
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return 'client';
  if (INTERNAL_CODES.has(code)) return 'internal';
  return 'error';
}

/**
 * Whether an error came on a keep-alive connection that had carried earlier
 * exchanges (nginx's `peer.cached`): undici's socket errors say what the
 * socket read and wrote in all, and this attempt wrote only `ownBytes`.
 */
function onReusedConnection(err: Error, ownBytes: number): boolean {
  const socket = (err as Error & { socket?: { bytesRead?: number; bytesWritten?: number } }).socket;
  return socket !== undefined && (socket.bytesRead ?? 0) > 0 && (socket.bytesWritten ?? 0) > ownBytes;
}

function hasRequestBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0') || hasHttp2Body(req);
}

/** The content handler of a proxy_pass location. */
export function proxyPassHandler(p: PassBinding): ContentHandler {
  return (r) => {
    if (r.upgrade !== null) proxyUpgrade(r, p);
    else new ProxyRequest(r, p).start();
  };
}

/** One proxied HTTP request: the undici flavour of the upstream walk. */
export class ProxyRequest extends UpstreamWalk {
  readonly headers: string[];
  readonly headSize: number;
  /** client_max_body_size of the location, counted as a chunked body streams (0 = no limit). */
  readonly maxBodyBytes: number;
  /** The body stream of the current attempt. */
  body: RequestBody | null = null;
  private current: Attempt | null = null;

  constructor(r: HttpContext, p: PassBinding) {
    super(r, p, hasRequestBody(r.req));
    this.headers = upstreamRequestHeaders(r, p.conf.headers);
    this.headSize = requestHeadSize(this.method, this.path, this.headers);
    this.maxBodyBytes = CORE.get(r.loc.conf).clientMaxBodySize;
  }

  /**
   * The chunked body passed client_max_body_size: nginx's 413, with the
   * connection closed after it (the rest of the body is read and dropped
   * meanwhile). With the response head already out, the connection is cut.
   */
  bodyTooLarge(responded: boolean): void {
    const { req, res } = this.r;
    if (responded) {
      if (!res.destroyed) res.destroy();
      return;
    }
    res.shouldKeepAlive = false;
    req.resume();
    answer(this.r, 413, undefined);
  }

  start(): void {
    // Ahead of the core's own 'close' listener, so the attempt is closed off before the log phase reads it.
    this.r.res.prependListener('close', this.onClientClose);
    this.tryNext();
  }

  protected attempt(peer: Peer): void {
    this.current = new Attempt(this, peer, this.record(peer));
    this.current.dispatch();
  }

  private readonly onClientClose = (): void => {
    if (this.r.res.writableFinished) return;
    this.clientGone = true;
    this.body?.destroy();
    this.current?.cancel();
  };
}

/**
 * One try on one peer, as an undici dispatch handler: the response head
 * goes out through sendHeader, the body is written straight to the client
 * with backpressure (a full client socket pauses the upstream parser).
 *
 * proxy_read_timeout is timed here rather than by undici's headers/body
 * timeouts: those run on a coarse timer wheel (a 300ms timeout fires after
 * up to a second). As in nginx it runs from the end of the request (or the
 * first response byte) between reads, and stops while the client is full.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private readonly startMs = Date.now();
  private abortRequest: ((err?: Error) => void) | null = null;
  private resumeResponse: () => void = () => undefined;
  private readTimer: NodeJS.Timeout | undefined;
  /** The request began to go out on a connection (undici called onConnect). */
  private sent = false;
  /** The client has the response head; failures now cut the connection. */
  private responded = false;
  private bodyStarted = false;
  private done = false;
  private status = 0;
  private headerMs: number | undefined;
  /** A passed-through 5xx that proxy_next_upstream names still counts against the peer. */
  private countsAsFailure = false;
  /** Body bytes still to come when the upstream sized its body (Content-Length). */
  private bodyLeft: number | undefined;
  /** The last bytes of a sized body: they leave once the request's on=end writes are committed. */
  private held: Buffer | undefined;

  constructor(
    private readonly pr: ProxyRequest,
    private readonly peer: Peer,
    private readonly record: UpstreamAttempt,
  ) {}

  dispatch(): void {
    const pr = this.pr;
    const conf = pr.p.conf;
    pr.body?.destroy();
    const body = pr.hasBody ? new RequestBody(pr.r.req, conf.sendTimeoutMs, pr.maxBodyBytes) : null;
    pr.body = body;
    const opts: Dispatcher.DispatchOptions = {
      method: pr.method,
      path: pr.path,
      headers: pr.headers,
      body,
      headersTimeout: 0,
      bodyTimeout: 0,
    };
    const { tls } = pr.p;
    // undici would otherwise take a TLS name from each request's Host header, and reconnect when it changes.
    if (tls !== undefined) (opts as { servername?: string }).servername = tls.dispatchName;
    pr.p.pools.get(this.peer, conf.connectTimeoutMs, tls).dispatch(opts, this);
  }

  /** The client went away: stop the upstream request; the peer is not to blame. */
  cancel(): void {
    if (this.done) return;
    this.end(false);
    this.abortRequest?.(new ClientGoneError('client closed connection'));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortRequest = abort;
    if (this.done) {
      abort(new ClientGoneError('client closed connection'));
      return;
    }
    this.sent = true;
    this.record.connectTime = this.elapsedMs() / 1000;
  }

  onRequestSent(): void {
    this.armRead();
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true; // 1xx informational: wait for the real head
    if (this.done) return false;
    this.armRead();
    this.status = status;
    this.headerMs = this.elapsedMs();
    this.record.status = String(status);
    this.record.headerTime = this.headerMs / 1000;
    const head = responseHead(raw, statusText);
    this.record.bytesReceived = head.size;
    if (this.nextOnStatus(status)) return false;
    if (interceptsUpstream(this.pr.r, status)) {
      // proxy_intercept_errors: the upstream's answer is dropped for the location's error_page.
      this.end(this.countsAsFailure);
      this.abortRequest?.(new Error('intercepted'));
      queueMicrotask(() => tryErrorPage(this.pr.r, status));
      return false;
    }
    this.resumeResponse = resume;
    return this.respond(status, statusText, head);
  }

  onData(chunk: Buffer): boolean {
    this.bodyStarted = true;
    this.record.bytesReceived += chunk.length;
    if (this.bodyLeft !== undefined) {
      this.bodyLeft -= chunk.length;
      // With its last byte a client has the whole response: hold that chunk for endResponse.
      if (this.bodyLeft <= 0) {
        this.held = this.held === undefined ? chunk : Buffer.concat([this.held, chunk]);
        return true;
      }
    }
    const r = this.pr.r;
    r.bodyBytesSent += chunk.length;
    if (r.res.write(chunk)) {
      this.readTimer?.refresh();
      return true;
    }
    this.stopRead();
    r.res.once('drain', this.onClientDrain);
    return false;
  }

  onComplete(): void {
    if (this.done) return;
    this.end(this.countsAsFailure);
    const last = this.held;
    this.held = undefined;
    endResponse(this.pr.r, last);
  }

  onError(err: Error): void {
    if (this.done) return;
    const pr = this.pr;
    const kind = classify(err, pr.clientGone);
    if (kind === 'too_large') {
      // The client's fault, not the peer's: $upstream_status stays "-" unless the peer answered.
      this.end(false);
      pr.bodyTooLarge(this.responded);
      return;
    }
    if (kind !== 'client' && kind !== 'internal') {
      const stage = this.responded ? 'body' : this.sent ? 'header' : 'connecting';
      logUpstreamError(pr.r, err, kind, stage, upstreamUrl(pr.p, this.peer, pr.path), pr.p.tls?.dispatchName);
    }
    if (this.responded || kind === 'client') {
      // Headers are out (or the client is gone): the only honest signal left is a cut connection.
      this.end(false);
      if (!pr.r.res.destroyed) pr.r.res.destroy();
      return;
    }
    if (kind === 'internal') {
      this.end(false);
      failRequest(pr.r, err);
      return;
    }
    this.record.status = kind === 'timeout' ? '504' : '502';
    // error, timeout and invalid_header always count against the peer (nginx).
    this.end(true);
    if (kind === 'error' && onReusedConnection(err, this.record.bytesSent)) pr.selection.retryCached(this.peer);
    pr.failed(kind, this.sent);
  }

  /** proxy_next_upstream http_5xx/403/404/429: drop this response and try the next peer. */
  private nextOnStatus(status: number): boolean {
    const ft = STATUS_FT[status];
    const pr = this.pr;
    if (ft === undefined || (pr.p.conf.nextUpstream & ft) === 0) return false;
    const failure = (ft & NOT_A_FAILURE) === 0;
    // nginx checks tries > 1 before freeing the peer: another try must remain after this one.
    if (!pr.mayRetry(ft, this.sent, pr.selection.remaining - 1)) {
      this.countsAsFailure = failure;
      return false;
    }
    this.end(failure);
    this.abortRequest?.(new Error('next upstream'));
    queueMicrotask(() => pr.tryNext());
    return true;
  }

  private respond(status: number, statusText: string, head: ResponseHead): boolean {
    const r = this.pr.r;
    r.upstreamHeaders = head.all;
    if (statusText !== '' && statusText !== STATUS_CODES[status] && SAFE_REASON.test(statusText)) r.res.statusMessage = statusText;
    try {
      sendHeader(r, status, head.client);
    } catch (err) {
      this.end(false);
      this.abortRequest?.(err as Error);
      failRequest(r, err);
      return false;
    }
    this.responded = true;
    const length = Number(head.client['content-length']);
    if (Number.isSafeInteger(length) && length > 0 && r.req.method !== 'HEAD') this.bodyLeft = length;
    // Node holds the head back to send it with the first body bytes; body bytes parsed from the same
    // socket read arrive before this microtask, so only a head with nothing behind it goes out alone.
    queueMicrotask(this.flushHeadIfIdle);
    return true;
  }

  /** An upstream that answers and then thinks (long polling, event streams): the client sees the head now. */
  private readonly flushHeadIfIdle = (): void => {
    if (!this.bodyStarted && !this.done) this.pr.r.res.flushHeaders();
  };

  private readonly onClientDrain = (): void => {
    if (this.done) return;
    this.armRead();
    this.resumeResponse();
  };

  private armRead(): void {
    if (this.readTimer !== undefined) this.readTimer.refresh();
    else this.readTimer = setTimeout(this.onReadTimeout, this.pr.p.conf.readTimeoutMs);
  }

  private stopRead(): void {
    clearTimeout(this.readTimer);
    this.readTimer = undefined;
  }

  private readonly onReadTimeout = (): void => {
    this.readTimer = undefined;
    this.abortRequest?.(new ReadTimeoutError('upstream timed out'));
  };

  /** Closes the attempt once: times and bytes for the variables, health and stats for the peer. */
  private end(failed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.stopRead();
    const pr = this.pr;
    const ms = this.elapsedMs();
    this.record.responseTime = ms / 1000;
    const bodyBytes = pr.body?.bytes ?? 0;
    this.record.bytesSent = this.sent ? pr.headSize + bodyBytes : 0;
    pr.r.requestBodyBytes = bodyBytes;
    pr.selection.free(
      this.peer,
      {
        failed,
        status: this.status,
        sent: this.record.bytesSent,
        received: this.record.bytesReceived,
        headerMs: this.headerMs,
        responseMs: this.status > 0 ? ms : undefined,
      },
      Date.now(),
    );
  }

  private elapsedMs(): number {
    return Date.now() - this.startMs;
  }
}
