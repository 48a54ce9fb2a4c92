import type { HttpContext } from '../http/context';
import { logRequest } from '../http/error-log';
import { describeTlsError } from './upstream-tls';

/** How far an attempt got when it failed: the tail of nginx's message. */
export type UpstreamStage = 'connecting' | 'header' | 'body';

const WHILE: Record<UpstreamStage, string> = {
  connecting: 'while connecting to upstream',
  header: 'while reading response header from upstream',
  body: 'while reading upstream',
};

/** nginx's wording of the failure (errno numbers as on Linux). */
function describe(err: Error, kind: string, stage: UpstreamStage): string {
  if (kind === 'timeout') return 'upstream timed out (110: Connection timed out)';
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ECONNREFUSED') return 'connect() failed (111: Connection refused)';
  if (code === 'ECONNRESET') return `${stage === 'body' ? 'readv' : 'recv'}() failed (104: Connection reset by peer)`;
  // undici names no code for a reply that does not start with a status line.
  if (err.message.includes('Expected HTTP/')) return 'upstream sent no valid HTTP/1.0 header';
  if (kind === 'invalid_header') return 'upstream sent invalid header';
  if (code === 'UND_ERR_SOCKET') return 'upstream prematurely closed connection';
  return err.message;
}

/**
 * Logs a failed upstream attempt as nginx does, at [error]:
 * `upstream timed out (110: Connection timed out) while reading response
 * header from upstream, client: …, server: …, request: "…", upstream: "…", host: "…"`.
 */
export function logUpstreamError(r: HttpContext, err: Error, kind: string, stage: UpstreamStage, upstream: string, tlsName?: string): void {
  const tlsFailure = tlsName === undefined || stage !== 'connecting' ? undefined : describeTlsError(err, tlsName);
  const text = tlsFailure === undefined ? `${describe(err, kind, stage)} ${WHILE[stage]}` : `${tlsFailure} while SSL handshaking to upstream`;
  logRequest(r, 'error', text, upstream);
}
