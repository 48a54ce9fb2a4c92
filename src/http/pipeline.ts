import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HttpContext } from './context';
import { finishRequest } from './finish';
import type { ContentHandler, LocationConf } from './conf';
import { CORE } from './conf';
import { isHttp2Request } from './http2-request';
import { findLocation } from './locations';
import { answer } from './answer';
import type { Runtime } from './runtime';
import { requestHost } from './request-host';
import type { ListenGroup } from './servers';
import { normalizeUri, splitTarget } from './uri';
import { isSimpleRequest } from './simple-requests';

const kRequests = Symbol('requestsOnConnection');

function nextRequestNumber(socket: Socket): number {
  const s = socket as Socket & { [kRequests]?: number };
  s[kRequests] = (s[kRequests] ?? 0) + 1;
  return s[kRequests];
}

function runPhase(handlers: ReadonlyArray<(r: HttpContext) => boolean>, r: HttpContext): boolean {
  for (let i = 0; i < handlers.length; i++) if (handlers[i](r)) return true;
  return false;
}

/** Origin-form path of the request target (absolute-form `http://host/p` is accepted as nginx does). */
function targetPath(url: string): string {
  if (url[0] === '/') return url;
  const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(url);
  return m ? m[1] || '/' : url;
}

function bodyTooLarge(r: HttpContext): boolean {
  const max = CORE.get(r.loc.conf).clientMaxBodySize;
  const len = r.req.headers['content-length'];
  return max > 0 && len !== undefined && Number(len) > max;
}

/**
 * One request through the phases: server rewrite → location → rewrite →
 * access → precontent → content. The log phase runs from `finishRequest`
 * when the response closes, whatever happened.
 */
export function handleRequest(
  rt: Runtime,
  group: ListenGroup,
  req: IncomingMessage,
  res: ServerResponse,
  upgrade?: HttpContext['upgrade'],
): HttpContext {
  const r = new HttpContext(req, res, rt, nextRequestNumber(req.socket));
  if (upgrade) r.upgrade = upgrade;
  res.on('close', () => finishRequest(r));
  try {
    route(r, group);
  } catch (err) {
    failRequest(r, err);
  }
  return r;
}

/**
 * What nginx refuses before routing because a proxy could pass it on
 * ambiguously (or cannot serve it: CONNECT): a second Host (400), or a Transfer-Encoding other than
 * plain `chunked` (501) — Node frames `gzip, chunked` as chunked, and the
 * upstream would get the gzip bytes with no header saying so.
 */
function ambiguousRequest(req: IncomingMessage): number {
  // nginx 1.22 answers HTTP/2.0 and above in a request line (an HTTP/1 head) with 505.
  if (req.httpVersionMajor > 1 && !isHttp2Request(req)) return 505;
  // nginx serves only GET as HTTP/0.9.
  if (isSimpleRequest(req) && req.method !== 'GET') return 400;
  // Not a forward proxy: nginx refuses the method (400) and logs the request.
  if (req.method === 'CONNECT') return 400;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return 501;
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') hosts++;
  return hosts > 1 ? 400 : 0;
}

function route(r: HttpContext, group: ListenGroup): void {
  const req = r.req;
  const host = requestHost(req);
  const refused = host === undefined ? 400 : ambiguousRequest(req);
  if (refused !== 0 || host === undefined) {
    // The body framing is not trusted either: the connection closes after the answer.
    r.res.shouldKeepAlive = false;
    r.server = group.defaultServer;
    r.loc = r.server.root;
    answer(r, refused, undefined);
    return;
  }
  r.host = host;
  const sel = group.select(host);
  r.server = sel.server;
  r.loc = sel.server.root;
  if (sel.captures !== null) {
    r.captures = Array.from(sel.captures, (s) => s ?? '');
    r.namedCaptures = sel.captures.groups ? { ...sel.captures.groups } : null;
  }
  const { path, args } = splitTarget(targetPath(req.url ?? '/'));
  const uri = normalizeUri(path);
  r.args = args;
  if (uri === undefined) {
    answer(r, 400, undefined);
    return;
  }
  r.uri = uri;
  runFromServerRewrite(r);
}

/** From the server-level rewrite on: where a request starts, and where an internal redirect restarts it. */
export function runFromServerRewrite(r: HttpContext): void {
  r.loc = r.server.root;
  if (runPhase(r.runtime.phases.serverRewrite, r)) return;
  runFromFindLocation(r);
}

/** Location search and on: after the server rewrite, and again after a location's rewrite changed the URI. */
export function runFromFindLocation(r: HttpContext): void {
  r.loc = findLocation(r, r.server.locations, r.uri) ?? r.server.root;
  // nginx checks the body size as soon as the location is known (find-config phase).
  if (bodyTooLarge(r)) {
    answer(r, 413, undefined);
    return;
  }
  runFromRewrite(r);
}

/** The location's own phases: rewrite → access → precontent → content (a named location starts here). */
export function runFromRewrite(r: HttpContext): void {
  const phases = r.runtime.phases;
  if (runPhase(phases.rewrite, r)) return;
  runFromAccess(r);
}

/**
 * The phases from access on. A request a phase handler suspended (limit_req's
 * delay) resumes here, and the handler lets it pass the second time, as
 * nginx re-runs the phase.
 */
export function runFromAccess(r: HttpContext): void {
  const phases = r.runtime.phases;
  if (runPhase(phases.access, r)) return;
  if (runPhase(phases.precontent, r)) return;
  const content = contentOf(r.loc);
  if (content === undefined) {
    answer(r, 404, undefined);
    return;
  }
  const pending = content(r);
  if (pending !== undefined) pending.catch((err) => failRequest(r, err));
}

/** An `if` block without a content handler of its own answers with its location's (nginx's if-location). */
function contentOf(loc: LocationConf): ContentHandler | undefined {
  let l: LocationConf | undefined = loc;
  while (l !== undefined && l.content === undefined && l.modifier === 'if') l = l.parent;
  return l?.content;
}

/** An internal failure: 500 if nothing was sent yet, otherwise the connection is cut. */
export function failRequest(r: HttpContext, err: unknown): void {
  process.emitWarning(`request failed: ${(err as Error)?.stack ?? String(err)}`);
  if (!r.headerSent && !r.res.destroyed) {
    try {
      answer(r, 500, undefined);
      return;
    } catch {
      /* fall through to destroy */
    }
  }
  r.res.destroy();
}
