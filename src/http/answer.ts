import { ERROR_PAGE, STATIC, type ErrorPage } from './conf';
import type { HttpContext, OutHeaders } from './context';
import { logRequest } from './error-log';
import { typeFor } from './mime';
import { internalRedirect, namedRedirect } from './redirect';
import { reasonPhrase, sendResponse } from './respond';

/*
 * The answers the core and every module give when they produce a response
 * themselves: a status with text, a redirect, nginx's error page (through the
 * location's error_page when one covers it), and the status API's headers.
 */

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Headers Angie puts on every successful status answer (JSON and Prometheus), so nothing caches a snapshot. */
export function noCacheHeaders(contentType: string): OutHeaders {
  return { 'content-type': contentType, expires: 'Thu, 01 Jan 1970 00:00:01 GMT', 'cache-control': 'no-cache' };
}

/** nginx's built-in error page body, so clients see what they would from nginx. */
export function errorPage(status: number): string {
  const title = `${status} ${reasonPhrase(status)}`.trim();
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>metricproxy</center>\r\n</body>\r\n</html>\r\n`;
}

/** A Location as nginx sends it (`absolute_redirect on`): a path gets the scheme, host and port. */
export function absoluteLocation(r: HttpContext, location: string): string {
  if (!location.startsWith('/')) return location;
  const host = r.host || r.server.primaryName || (r.req.socket.localAddress ?? '');
  const port = r.req.socket.localPort;
  return `http://${host}${port === 80 || port === undefined ? '' : `:${port}`}${location}`;
}

/** Answers with a status and either text, a Location (redirects), or nginx's error page. */
export function answer(r: HttpContext, status: number, text: string | undefined): void {
  if (text === undefined && tryErrorPage(r, status)) return;
  const headers: Record<string, string> = {};
  if (REDIRECTS.has(status) && text !== undefined) {
    headers.location = absoluteLocation(r, text);
    sendResponse(r, status, { ...headers, 'content-type': 'text/html' }, errorPage(status));
    return;
  }
  if (text !== undefined) {
    sendResponse(r, status, { 'content-type': contentTypeOf(r) }, text);
    return;
  }
  if (status >= 400 || (status >= 300 && status < 400)) {
    sendResponse(r, status, { 'content-type': 'text/html' }, errorPage(status));
    return;
  }
  sendResponse(r, status, {}, '');
}

/** A generated body's type, as nginx's: by $uri's extension through `types`, else `default_type`. */
export function contentTypeOf(r: HttpContext): string {
  const conf = STATIC.of(r.loc.conf);
  return conf === undefined ? 'text/plain' : typeFor(conf.types, conf.defaultType, r.uri);
}

function pageFor(r: HttpContext, status: number): ErrorPage | undefined {
  const conf = ERROR_PAGE.of(r.loc?.conf);
  if (conf?.pages === undefined || r.moduleCtx.errorPageDone === true) return undefined;
  return conf.pages.find((p) => p.codes.has(status));
}

/** Whether an upstream answer with this status is to be replaced by an error page (proxy_intercept_errors). */
export function interceptsUpstream(r: HttpContext, status: number): boolean {
  return status >= 300 && ERROR_PAGE.of(r.loc.conf)?.intercept === true && pageFor(r, status) !== undefined;
}

/**
 * Answers an error through the location's error_page, if one covers it:
 * a URL is a redirect, `@name` a named location, a path an internal
 * redirect (as GET, unless HEAD). Returns false when none applies.
 */
export function tryErrorPage(r: HttpContext, status: number): boolean {
  if (r.headerSent) return false;
  // A generated error answers with its own code, whatever an earlier error page set (nginx's err_status).
  r.moduleCtx.errStatus = undefined;
  const page = pageFor(r, status);
  if (page === undefined) return false;
  // As nginx: the location that takes the first error page decides whether a later error may take another.
  r.moduleCtx.errorPageDone = ERROR_PAGE.get(r.loc.conf).recursive !== true;
  const target = page.target.eval(r);
  if (!target.startsWith('/') && !target.startsWith('@')) {
    const code = typeof page.overwrite === 'number' && REDIRECTS.has(page.overwrite) ? page.overwrite : 302;
    answer(r, code, target);
    return true;
  }
  r.moduleCtx.errStatus = page.overwrite === 'response' ? undefined : (page.overwrite ?? status);
  if (r.req.method !== 'HEAD') r.req.method = 'GET';
  if (target.startsWith('@')) {
    const loc = r.server.named.get(target);
    if (loc === undefined) {
      logRequest(r, 'error', `could not find named location "${target}"`);
      answer(r, 500, undefined);
    } else namedRedirect(r, loc);
    return true;
  }
  const q = target.indexOf('?');
  internalRedirect(r, q < 0 ? target : target.slice(0, q), q < 0 ? '' : target.slice(q + 1));
  return true;
}

