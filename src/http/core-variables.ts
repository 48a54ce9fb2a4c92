import * as os from 'node:os';
import type { HttpContext } from './context';
import type { VariableRegistry } from './variables';
import { isSimpleRequest, requestLine, serverProtocol, simpleRequestLength } from './simple-requests';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function tzOffset(d: Date, sep: string): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${sign}${pad(Math.floor(a / 60))}${sep}${pad(a % 60)}`;
}

export function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${tzOffset(d, '')}`;
}

export function timeIso8601(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${tzOffset(d, ':')}`;
}

/** Header names in variables use `_` for `-`, lower case. */
function headerName(suffix: string): string {
  return suffix.toLowerCase().replace(/_/g, '-');
}

function headerValue(v: string | string[] | number | undefined, sep: string): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(sep) : String(v);
}

function argValue(args: string, name: string): string | undefined {
  if (args === '') return undefined;
  for (const pair of args.split('&')) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    if (k.toLowerCase() === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

let connectionSeq = 0;
const connectionIds = new WeakMap<object, number>();

function connectionId(r: HttpContext): number {
  const sock = r.req.socket;
  let id = connectionIds.get(sock);
  if (id === undefined) {
    id = ++connectionSeq;
    connectionIds.set(sock, id);
  }
  return id;
}

const hostname = os.hostname();
/** Seconds with milliseconds, as nginx prints times; memoised, since a request's time is read by several directives. */
let lastSeconds = 0;
let lastSecondsText = '0.000';
function seconds(s: number): string {
  if (s !== lastSeconds) {
    lastSecondsText = s.toFixed(3);
    lastSeconds = s;
  }
  return lastSecondsText;
}

/** The nginx core variables (core.md, Variables). Getters are cheap and read the request lazily. */
export function defineCoreVariables(v: VariableRegistry): void {
  v.define('request_method', (r) => r.req.method);
  v.define('request_uri', (r) => r.req.url);
  v.define('uri', (r) => r.uri);
  v.define('document_uri', (r) => r.uri);
  v.define('args', (r) => r.args, (r, val) => void (r.args = val));
  v.define('query_string', (r) => r.args);
  v.define('is_args', (r) => (r.args !== '' ? '?' : ''));
  v.define('request', (r) => requestLine(r.req));
  v.define('remote_addr', (r) => r.req.socket.remoteAddress?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));
  v.define('remote_port', (r) => headerValue(r.req.socket.remotePort, ''));
  v.define('remote_user', (r) => {
    const auth = r.req.headers.authorization;
    if (auth === undefined || !/^basic /i.test(auth)) return undefined;
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('latin1');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : decoded.slice(0, colon);
  });
  v.define('server_addr', (r) => r.req.socket.localAddress?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));
  v.define('server_port', (r) => headerValue(r.req.socket.localPort, ''));
  v.define('server_name', (r) => r.server.primaryName);
  v.define('host', (r) => (r.host !== '' ? r.host : r.server.primaryName));
  v.define('hostname', () => hostname);
  v.define('scheme', () => 'http');
  v.define('server_protocol', (r) => serverProtocol(r.req));
  v.define('request_id', (r) => {
    if (r.requestId === '') r.requestId = require('node:crypto').randomBytes(16).toString('hex');
    return r.requestId;
  });
  v.define('status', (r) => (r.status > 0 ? pad(r.status, 3) : '000'));
  v.define('body_bytes_sent', (r) => String(r.bodyBytesSent));
  v.define('bytes_sent', (r) => String(r.bodyBytesSent + r.headerBytesSent));
  v.define('request_length', (r) => String(requestHeaderLength(r) + r.requestBodyBytes));
  v.define('request_time', (r) => seconds(r.elapsed()));
  v.define('request_completion', (r) => (r.finished && !r.aborted ? 'OK' : ''));
  v.define('connection', (r) => String(connectionId(r)));
  v.define('connection_requests', (r) => String(r.connectionRequests));
  v.define('msec', () => seconds(Date.now() / 1000));
  v.define('time_iso8601', () => timeIso8601(Date.now()));
  v.define('time_local', () => timeLocal(Date.now()));
  v.define('pid', () => String(process.pid));
  v.define('content_type', (r) => r.req.headers['content-type']);
  v.define('content_length', (r) => r.req.headers['content-length']);
  v.prefix('http_', (suffix) => {
    const name = headerName(suffix);
    const sep = name === 'cookie' ? '; ' : ', ';
    return (r) => headerValue(r.req.headers[name], sep);
  });
  v.prefix('arg_', (suffix) => {
    const name = suffix.toLowerCase();
    return (r) => argValue(r.args, name);
  });
  v.prefix('cookie_', (name) => (r) => cookieValue(headerValue(r.req.headers.cookie, '; '), name));
  v.prefix('sent_http_', (suffix) => {
    const name = headerName(suffix);
    return (r) => (r.sentHeaders === null ? undefined : headerValue(r.sentHeaders[name], ', '));
  });
}

/** The request line and header block size, reconstructed (Node does not expose the raw count). */
function requestHeaderLength(r: HttpContext): number {
  if (isSimpleRequest(r.req)) return simpleRequestLength(r.req);
  let n = requestLine(r.req).length + 4;
  const raw = r.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 4;
  return n;
}
