import * as http2 from 'node:http2';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { OutHeaders } from './context';
import { reasonPhrase } from './respond';

/**
 * An HTTP/2 stream shaped as the HTTP/1 request the pipeline reads, the way
 * nginx's v2 module turns one into an ngx_http_request_t: pseudo-headers
 * leave the header list (`:authority` becomes Host when the client sent
 * none), `$server_protocol` says HTTP/2.0, and `req.socket` is the TLS
 * connection the stream rides on ($remote_addr, $ssl_*, per-connection
 * counters). The response drops what HTTP/2 has no place for: the reason
 * phrase and connection-level headers (Node would throw on them).
 */

/** Headers HTTP/2 forbids (RFC 9113 8.2.2): the transport owns them. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** Bytes of the response head as HTTP/1.1 text, kept for $bytes_sent (HPACK's count is not exposed). */
const headBytes = new WeakMap<object, number>();

/** `Date: <29 characters>\r\n`: the header Node's HTTP/2 response adds itself. */
const DATE_LINE_BYTES = 'date: '.length + 29 + 2;

export function isHttp2Request(req: IncomingMessage): boolean {
  return req instanceof http2.Http2ServerRequest;
}

/** Whether an HTTP/2 request carries a body: its HEADERS frame did not end the stream (no Content-Length needed). */
export function hasHttp2Body(req: IncomingMessage): boolean {
  return req instanceof http2.Http2ServerRequest && !req.stream.endAfterHeaders;
}

/** The response head's size as $bytes_sent counts it for an HTTP/2 response (0 before it is sent). */
export function http2HeadBytes(res: ServerResponse): number {
  return headBytes.get(res) ?? 0;
}

function requestHeaders(req: http2.Http2ServerRequest): { headers: IncomingMessage['headers']; raw: string[] } {
  const headers: IncomingMessage['headers'] = {};
  const raw: string[] = [];
  const authority = req.headers[':authority'];
  if (req.headers.host === undefined && typeof authority === 'string') {
    headers.host = authority;
    raw.push('host', authority);
  }
  const source = req.rawHeaders;
  for (let i = 0; i < source.length; i += 2) {
    if (source[i][0] === ':') continue;
    raw.push(source[i], source[i + 1]);
  }
  for (const [name, value] of Object.entries(req.headers)) if (name[0] !== ':') headers[name] = value;
  return { headers, raw };
}

function sendableHeaders(headers: OutHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!CONNECTION_HEADERS.has(name.toLowerCase())) out[name] = value;
  return out;
}

function http1HeadBytes(status: number, headers: OutgoingHttpHeaders): number {
  let n = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`.length + 2 + DATE_LINE_BYTES;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of [value ?? ''].flat()) n += name.length + String(v).length + 4;
  }
  return n;
}

/** Redefines the response's head writer: no reason phrase, no connection headers, the head's size kept. */
function shapeResponse(res: http2.Http2ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers: OutgoingHttpHeaders) => http2.Http2ServerResponse;
  Object.defineProperties(res, {
    writeHead: {
      value: (status: number, reasonOrHeaders?: string | OutHeaders, maybeHeaders?: OutHeaders) => {
        const given = typeof reasonOrHeaders === 'object' ? reasonOrHeaders : (maybeHeaders ?? {});
        const headers = sendableHeaders(given);
        headBytes.set(res, http1HeadBytes(status, headers));
        return writeHead(status, headers);
      },
    },
    // HTTP/2 has no reason phrase; setting one would only print Node's warning.
    statusMessage: { get: () => '', set: () => undefined },
    destroyed: { get: () => res.stream.destroyed },
    // Node's HTTP/2 response says finished when its stream closes, reset or not: only a stream
    // that closed without an error after the last byte is a finished response (HTTP/1's meaning).
    writableFinished: { get: () => res.stream.closed && res.stream.rstCode === http2.constants.NGHTTP2_NO_ERROR && res.writableEnded },
  });
}

/** The request and response of one stream, as the pipeline takes them. */
export function http1Shaped(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, socket: TLSSocket): { req: IncomingMessage; res: ServerResponse } {
  const { headers, raw } = requestHeaders(req);
  Object.defineProperties(req, { headers: { value: headers }, rawHeaders: { value: raw }, socket: { value: socket } });
  shapeResponse(res);
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse };
}
