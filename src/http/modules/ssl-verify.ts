import type { TLSSocket } from 'node:tls';
import type { HttpContext } from '../context';
import { answer } from '../answer';
import type { VariableRegistry } from '../variables';

/**
 * Mutual TLS as nginx does it: the handshake asks for a client certificate
 * but never fails for want of one; the request is then refused with 400
 * (`ssl_verify_client on` and no certificate, or a certificate that did not
 * verify), so the refusal is logged and counted like any other answer.
 */

export const VERIFY_MODES = ['off', 'on', 'optional', 'optional_no_ca'] as const;
export type VerifyClient = (typeof VERIFY_MODES)[number];

type SocketOf = (r: HttpContext) => TLSSocket | undefined;

function hasCertificate(s: TLSSocket): boolean {
  return s.getPeerX509Certificate() !== undefined;
}

/** nginx's $ssl_client_verify: NONE, SUCCESS or FAILED:reason. */
function verifyResult(s: TLSSocket): string {
  if (!hasCertificate(s)) return 'NONE';
  return s.authorized ? 'SUCCESS' : `FAILED:${String(s.authorizationError)}`;
}

/**
 * RFC 2253 (nginx's $ssl_client_s_dn since 1.11.6): the subject's parts,
 * last first, comma-separated. Node's `subject` already escapes each value
 * the RFC 2253 way, one part a line.
 */
export function rfc2253(subject: string): string {
  return subject
    .split('\n')
    .filter((part) => part !== '')
    .reverse()
    .join(',');
}

export function defineClientVariables(v: VariableRegistry, socketOf: SocketOf): void {
  v.define('ssl_client_verify', (r) => {
    const s = socketOf(r);
    return s === undefined ? '' : verifyResult(s);
  });
  v.define('ssl_client_s_dn', (r) => {
    const subject = socketOf(r)?.getPeerX509Certificate()?.subject;
    return subject === undefined ? '' : rfc2253(subject);
  });
}

/** The request's server wants a verified certificate: 400 without one, or with one that failed. Runs first. */
export function checkClientCertificate(r: HttpContext, s: TLSSocket | undefined): boolean {
  const mode = r.server.tlsVerifyClient;
  if (s === undefined || mode === 'off') return false;
  const present = hasCertificate(s);
  if (mode === 'on' && !present) {
    answer(r, 400, undefined);
    return true;
  }
  if (present && !s.authorized && mode !== 'optional_no_ca') {
    answer(r, 400, undefined);
    return true;
  }
  return false;
}
