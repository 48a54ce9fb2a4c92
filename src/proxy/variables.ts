import type { HttpContext, UpstreamAttempt } from '../http/context';
import type { VariableRegistry } from '../http/variables';
import { PROXY_CTX, UpstreamWalk } from './walk';

/** nginx prints one value per attempt, `, `-separated; `-` where an attempt has none. */
function perAttempt(format: (a: UpstreamAttempt) => string) {
  return (r: HttpContext): string | undefined => {
    const list = r.upstreams;
    if (list.length === 0) return undefined;
    let out = format(list[0]);
    for (let i = 1; i < list.length; i++) out += ', ' + format(list[i]);
    return out;
  };
}

const seconds = (s: number | undefined): string => (s === undefined ? '-' : s.toFixed(3));

function walkOf(r: HttpContext): UpstreamWalk | undefined {
  return r.moduleCtx[PROXY_CTX] as UpstreamWalk | undefined;
}

/** $upstream_* and $proxy_* (nginx's ngx_http_upstream and ngx_http_proxy variables). */
export function defineProxyVariables(v: VariableRegistry): void {
  v.define('upstream_addr', perAttempt((a) => a.addr));
  v.define('upstream_status', perAttempt((a) => a.status));
  v.define('upstream_response_time', perAttempt((a) => seconds(a.responseTime)));
  v.define('upstream_connect_time', perAttempt((a) => seconds(a.connectTime)));
  v.define('upstream_header_time', perAttempt((a) => seconds(a.headerTime)));
  v.define('upstream_bytes_received', perAttempt((a) => String(a.bytesReceived)));
  v.define('upstream_bytes_sent', perAttempt((a) => String(a.bytesSent)));
  v.prefix('upstream_http_', (suffix) => {
    const name = suffix.toLowerCase().replace(/_/g, '-');
    return (r) => {
      const value = r.upstreamHeaders?.[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
  });
  v.define('proxy_host', (r) => walkOf(r)?.p.url.proxyHost);
  v.define('proxy_port', (r) => walkOf(r)?.p.url.proxyPort);
  const remoteAddr = v.lookup('remote_addr');
  v.define('proxy_add_x_forwarded_for', (r) => {
    const addr = remoteAddr?.get(r) ?? '';
    const xff = r.req.headers['x-forwarded-for'];
    if (xff === undefined) return addr;
    return `${Array.isArray(xff) ? xff.join(', ') : xff}, ${addr}`;
  });
}
