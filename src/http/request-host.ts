import type { IncomingMessage } from 'node:http';

/**
 * The host name a request is for, as nginx's ngx_http_validate_host takes
 * it: lower case, without the port and a trailing dot. Undefined when nginx
 * answers 400: empty, a `/`, a NUL, a space or other control byte, `..`.
 */
export function validateHost(raw: string): string | undefined {
  let host = raw.toLowerCase();
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0 || !/^(:\d*)?$/.test(host.slice(close + 1))) return undefined;
    host = host.slice(0, close + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '' || /[\x00-\x20\x7f/]/.test(host) || host.includes('..')) return undefined;
  return host;
}

/** The authority of an absolute-form target (`http://host:port/path`), or undefined for origin-form. */
function targetAuthority(url: string): string | undefined {
  if (url[0] === '/') return undefined;
  return /^https?:\/\/([^/?#]*)/i.exec(url)?.[1];
}

/**
 * The host that picks the server and gives $host: an absolute-form
 * target's host wins over the Host header (RFC 9112 §3.2.2, as nginx
 * does), so a `Host: admin.local` cannot reach a server by name while the
 * target names another. '' when neither names one (HTTP/1.0 without
 * Host); undefined for a request nginx refuses with 400.
 */
export function requestHost(req: IncomingMessage): string | undefined {
  const authority = targetAuthority(req.url ?? '/');
  if (authority !== undefined) return authority.includes('@') ? undefined : validateHost(authority);
  const header = req.headers.host;
  return header === undefined ? '' : validateHost(header);
}
