import { ConfigError } from '../config/errors';
import { escapeUri, normalizeUri, splitTarget } from '../http/uri';
import { isUnix, parseHostPort } from './upstream';

/** A parsed `proxy_pass` URL; `upstream` is bound once every `upstream` block is known. */
export interface PassUrl {
  /** The host as written: an upstream name or an address. */
  host: string;
  /** undefined when the URL names no port. */
  port: number | undefined;
  /** The URI part (`/x/` of `http://b/x/`), undefined when absent. */
  uri: string | undefined;
  /** `$proxy_host`: the Host header sent upstream (port omitted when absent or 80). */
  proxyHost: string;
  /** `$proxy_port`. */
  proxyPort: string;
  /** `https://`: the upstream connection speaks TLS (proxy_ssl_* settings). */
  tls: boolean;
}

/** Parses `http[s]://HOST[:PORT][/URI]`; throws nginx's phrases for what it rejects. */
export function parsePassUrl(url: string): PassUrl {
  if (url.includes('$')) throw new ConfigError('variables in "proxy_pass" are not supported');
  const scheme = /^(https?):\/\//i.exec(url);
  if (scheme === null) throw new ConfigError(`invalid URL prefix in "${url}"`);
  const tls = scheme[1].toLowerCase() === 'https';
  const rest = url.slice(scheme[0].length);
  if (isUnix(rest)) return { ...parseUnixUrl(rest), tls };
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const uri = slash < 0 ? undefined : rest.slice(slash);
  const explicitPort = /:\d*$/.test(authority) && !authority.endsWith(']');
  const defaultPort = tls ? 443 : 80;
  const parsed = parseHostPort(authority, `upstream "${rest}"`);
  const { host } = parsed;
  const port = explicitPort ? parsed.port : defaultPort;
  const hostText = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port: explicitPort ? port : undefined,
    uri,
    proxyHost: explicitPort && port !== defaultPort ? `${hostText}:${port}` : hostText,
    proxyPort: String(port),
    tls,
  };
}

/** `unix:/path[:/uri]`: nginx ends the socket path at the first `:`; the Host sent is `localhost`. */
function parseUnixUrl(rest: string): Omit<PassUrl, 'tls'> {
  const colon = rest.indexOf(':', 'unix:'.length);
  const { host } = parseHostPort(colon < 0 ? rest : rest.slice(0, colon), `upstream "${rest}"`);
  return { host, port: undefined, uri: colon < 0 ? undefined : rest.slice(colon + 1), proxyHost: 'localhost', proxyPort: '' };
}

/** What the upstream request target is built from (a request's view, kept plain for tests). */
export interface UriInput {
  /** The URI part of proxy_pass, undefined when absent. */
  passUri: string | undefined;
  /** The prefix the location matched with (its name). */
  locationPrefix: string;
  /** The request's current $uri (decoded, normalised; may have been rewritten). */
  uri: string;
  args: string;
  /** The request target exactly as the client sent it. */
  rawTarget: string;
}

/**
 * nginx's rule (ngx_http_proxy_create_request): without a URI part the
 * client's target goes upstream untouched unless the URI was changed, then
 * the current $uri (escaped) and $args; with a URI part the part of $uri
 * the location matched is replaced by it.
 */
export function upstreamUri(i: UriInput): string {
  const changed = uriChanged(i.uri, i.rawTarget);
  if (i.passUri === undefined && !changed) return i.rawTarget;
  const query = i.args === '' ? '' : `?${i.args}`;
  // Escaping is needed only when the decoded $uri may differ from what was sent (nginx's quoted_uri || internal).
  const escape = changed || i.rawTarget.includes('%') ? escapeUri : (s: string) => s;
  if (i.passUri === undefined || !i.uri.startsWith(i.locationPrefix)) return escape(i.uri) + query;
  return i.passUri + escape(i.uri.slice(i.locationPrefix.length)) + query;
}

/** Whether $uri no longer is the client's path decoded (rewrite, or an absolute-form target). */
function uriChanged(uri: string, rawTarget: string): boolean {
  const path = splitTarget(rawTarget).path;
  if (path === uri) return false;
  return normalizeUri(path) !== uri;
}
