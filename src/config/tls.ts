import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { ConfigError } from './errors';

/** Where a directive was written, for an error about what it named. */
export interface DirectiveAt {
  file: string;
  line: number;
}

/** A certificate or key file named by the directive `at`, read at load; `what` names it in nginx's error. */
export function readPem(what: string, file: string, at: DirectiveAt): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message;
    throw new ConfigError(`cannot load ${what} "${file}": ${reason}`, at.file, at.line);
  }
}

/** A certificate and its key must match; nginx's words when they do not, at `at`. */
export function checkKeyPair(pair: { cert: Buffer; key: Buffer }, keyPath: string, at: DirectiveAt): void {
  try {
    tls.createSecureContext(pair);
  } catch (e) {
    throw new ConfigError(`SSL_CTX_use_PrivateKey("${keyPath}") failed (${(e as Error).message})`, at.file, at.line);
  }
}

export const TLS_PROTOCOLS: readonly tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const IGNORED_PROTOCOLS = new Set(['SSLv2', 'SSLv3']);

/** The words of `ssl_protocols` / `proxy_ssl_protocols` (SSLv2/SSLv3 accepted and ignored, as OpenSSL 3 has none). */
export function parseProtocols(args: readonly string[]): string[] {
  for (const p of args) if (!TLS_PROTOCOLS.includes(p as tls.SecureVersion) && !IGNORED_PROTOCOLS.has(p)) throw new ConfigError(`invalid value "${p}"`);
  return [...args];
}

/** Node takes a contiguous range: from the lowest protocol enabled to the highest. */
export function versionRange(protocols: readonly string[]): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  const on = TLS_PROTOCOLS.filter((p) => protocols.includes(p));
  return { minVersion: on[0], maxVersion: on[on.length - 1] };
}
