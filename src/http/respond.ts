import { STATUS_CODES } from 'node:http';
import type { HttpContext, OutHeaders } from './context';
import { finishRequest } from './finish';
import { requestLine } from './simple-requests';

/** nginx's reason phrases where they differ from Node's, so clients and logs read the same. */
const NGINX_REASONS: Record<number, string> = {
  405: 'Not Allowed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  416: 'Requested Range Not Satisfiable',
};

/** The reason phrase nginx would send for a status. */
export function reasonPhrase(status: number): string {
  return NGINX_REASONS[status] ?? STATUS_CODES[status] ?? '';
}

/**
 * The one way a response header leaves metricproxy: header filters
 * (add_header, metric on=response, status counters) run here, just before
 * the status line is written.
 */
export function sendHeader(r: HttpContext, status: number, headers: OutHeaders, generated = false): void {
  r.status = status;
  // Visible to filters as $sent_http_*; later filters see earlier ones' additions.
  r.sentHeaders = headers;
  const filters = r.runtime.phases.header;
  for (let i = 0; i < filters.length; i++) filters[i](r, headers);
  // A filter may set the status (an error page answers with the error's code).
  status = r.status;
  r.headerSent = true;
  try {
    writeHead(r, status, headers, generated);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_INVALID_CHAR') throw err;
    // A value from a variable holding CR/LF (`add_header X $uri` with %0D%0A in the URI): Node
    // refuses to write it (it would split the response) — leave that header out, still answer.
    for (const [name, value] of Object.entries(headers)) {
      if (![value].flat().some((v) => UNSENDABLE.test(v))) continue;
      delete headers[name];
      r.runtime.errorLog.log('error', `header "${name}" left out: its value holds a control character, request: "${requestLine(r.req)}"`);
    }
    writeHead(r, status, headers, generated);
  }
}

/** What Node's header writer refuses in a value. */
const UNSENDABLE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * How nginx spells the headers it writes itself. Headers are kept under
 * lower-case names (filters and $sent_http_* look them up so); Node writes a
 * name as given, so a response metricproxy generates is renamed on the way out.
 */
const NGINX_NAMES: Readonly<Record<string, string>> = {
  'content-type': 'Content-Type',
  'content-length': 'Content-Length',
  'cache-control': 'Cache-Control',
  expires: 'Expires',
  location: 'Location',
};

function nginxNames(headers: OutHeaders): OutHeaders {
  const out: OutHeaders = {};
  for (const name of Object.keys(headers)) out[NGINX_NAMES[name] ?? name] = headers[name];
  return out;
}

function writeHead(r: HttpContext, status: number, headers: OutHeaders, generated: boolean): void {
  const wire = generated ? nginxNames(headers) : headers;
  const reason = NGINX_REASONS[status];
  if (reason === undefined) r.res.writeHead(status, wire);
  else r.res.writeHead(status, reason, wire);
}

/**
 * Sends a complete response metricproxy generates itself (api, prometheus,
 * return, errors), its header names spelled as nginx writes them. Bodies are
 * byte strings (latin1) or Buffers.
 */
export function sendResponse(r: HttpContext, status: number, headers: OutHeaders, body: string | Buffer): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  headers['content-length'] = String(buf.length);
  sendHeader(r, status, headers, true);
  endResponse(r, r.req.method === 'HEAD' || status === 204 || status === 304 ? undefined : buf);
}

/**
 * Writes the last body bytes (if any) and ends the response, running the
 * log phase first and ending only once its writes are committed: the
 * client cannot see the end of a response whose on=end metrics are not
 * in the store yet.
 */
export function endResponse(r: HttpContext, last?: Buffer): void {
  if (last !== undefined) r.bodyBytesSent += last.length;
  finishRequest(r, true);
  r.runtime.commits.after(() => r.res.end(last));
}
