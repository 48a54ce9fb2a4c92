import type { HttpContext } from './context';
import { requestLine } from './simple-requests';

/** The client address as nginx writes it (an IPv4-mapped address as plain IPv4). */
function clientAddress(r: HttpContext): string {
  return (r.req.socket.remoteAddress ?? '-').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

/**
 * An error-log line about a request, with nginx's trailer naming the client,
 * server, request (and upstream, when one was involved) and host.
 */
export function logRequest(r: HttpContext, level: string, text: string, upstream?: string): void {
  const req = r.req;
  const host = req.headers.host === undefined ? '' : `, host: "${req.headers.host}"`;
  const peer = upstream === undefined ? '' : `, upstream: "${upstream}"`;
  r.runtime.errorLog.log(level, `${text}, client: ${clientAddress(r)}, server: ${r.server.primaryName}, request: "${requestLine(req)}"${peer}${host}`);
}
