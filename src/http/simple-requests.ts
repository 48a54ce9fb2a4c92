/**
 * HTTP/0.9 simple requests: `GET /path` and a line end — no version, no
 * headers. nginx answers one with the body alone and closes the connection;
 * any other method gets its 400 page, also without a head. Node's parser
 * (llhttp) takes such a line for the start of a request and waits for
 * headers that never come, so the first bytes of each plain connection are
 * looked at here, before the parser sees them: a simple request reaches the
 * parser as `METHOD /path HTTP/1.0` with no headers, the request is marked
 * as 0.9 (`$request` and `$server_protocol` then read as in nginx), and its
 * response leaves without status line and headers. Everything else reaches
 * the parser byte for byte, and the parser still reads the socket natively.
 * A simple request is seen only when its line arrives whole in the
 * connection's first read (a client sends it in one write).
 */
import type * as http from 'node:http';
import type { Socket } from 'node:net';

/** nginx takes a trailing space after the URI too (`GET / `). */
const SIMPLE_REQUEST = /^([A-Z]+) ([^ \r\n]+) ?\r?$/;
/** Connections that sent a simple request, with the bytes of its line. */
const simple = new WeakMap<Socket, number>();

/** Whether `req` came as an HTTP/0.9 simple request. */
export function isSimpleRequest(req: http.IncomingMessage): boolean {
  return simple.has(req.socket);
}

/**
 * `$request_length` of a simple request: its line as sent; none for one
 * refused (nginx refuses any method but GET before it counts the request).
 */
export function simpleRequestLength(req: http.IncomingMessage): number {
  return req.method === 'GET' ? simple.get(req.socket) ?? 0 : 0;
}

/**
 * Puts the first-read check in front of `server`'s own connection handler.
 * A connection that sends nothing within `silentMs` is closed, as Node's
 * header timer would once the handler had it.
 */
export function acceptSimpleRequests(server: http.Server, silentMs: number): void {
  const parseConnection = server.listeners('connection').find((l) => l.name === 'connectionListener') as ((socket: Socket) => void) | undefined;
  if (parseConnection === undefined) throw new Error('node:http has no connectionListener to put the HTTP/0.9 check in front of');
  server.removeListener('connection', parseConnection);
  server.on('connection', (socket: Socket) => {
    // Until the handler has it, this code owns the socket: its errors, a client closing before a
    // byte (Node's server is half-open: the socket would wait for ever), and silence.
    const ignoreError = () => undefined;
    const closedBeforeAByte = () => socket.destroy();
    socket.on('error', ignoreError);
    socket.once('end', closedBeforeAByte);
    const silent = setTimeout(() => socket.destroy(), silentMs);
    socket.once('close', () => clearTimeout(silent));
    socket.once('data', (first: Buffer) => {
      clearTimeout(silent);
      socket.off('error', ignoreError);
      socket.off('end', closedBeforeAByte);
      socket.pause();
      socket.unshift(asVersioned(socket, first));
      parseConnection.call(server, socket);
      socket.resume();
    });
  });
}

/** `first` as the parser should read it: a simple request gets a version and an empty head. */
function asVersioned(socket: Socket, first: Buffer): Buffer {
  const lineEnd = first.indexOf(0x0a);
  if (lineEnd < 0 || lineEnd !== first.length - 1) return first;
  const line = SIMPLE_REQUEST.exec(first.toString('latin1', 0, lineEnd));
  if (line === null) return first;
  simple.set(socket, first.length);
  withoutResponseHead(socket);
  return Buffer.from(`${line[1]} ${line[2]} HTTP/1.0\r\n\r\n`, 'latin1');
}

/** What goes out on `socket` from the end of the first response head (`\r\n\r\n`) on. */
function withoutResponseHead(socket: Socket): void {
  let headEnded = false;
  /** The head's last bytes so far: its end may be split between two writes. */
  let headTail = Buffer.alloc(0);
  const body = (chunk: Buffer): Buffer => {
    if (headEnded) return chunk;
    const seen = Buffer.concat([headTail, chunk]);
    const end = seen.indexOf('\r\n\r\n');
    if (end < 0) {
      headTail = seen.subarray(Math.max(0, seen.length - 3));
      return Buffer.alloc(0);
    }
    headEnded = true;
    return seen.subarray(end + 4);
  };
  const toBuffer = (chunk: unknown, encoding: string): Buffer => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, encoding as BufferEncoding));
  type Write = (chunk: unknown, encoding: string, done: (err?: Error | null) => void) => void;
  type Writev = (chunks: { chunk: unknown; encoding: string }[], done: (err?: Error | null) => void) => void;
  const stream = socket as unknown as { _write: Write; _writev: Writev };
  const write = stream._write.bind(socket);
  stream._write = (chunk, encoding, done) => write(body(toBuffer(chunk, encoding)), 'buffer', done);
  stream._writev = (chunks, done) => write(Buffer.concat(chunks.map((c) => body(toBuffer(c.chunk, c.encoding)))), 'buffer', done);
}

/** `$server_protocol`: empty for a simple request, as nginx has it. */
export function serverProtocol(req: http.IncomingMessage): string {
  return isSimpleRequest(req) ? '' : `HTTP/${req.httpVersion}`;
}

/** The request line as the client sent it (`$request`, error-log lines); a simple request has no version. */
export function requestLine(req: http.IncomingMessage): string {
  return isSimpleRequest(req) ? `${req.method} ${req.url}` : `${req.method} ${req.url} HTTP/${req.httpVersion}`;
}
