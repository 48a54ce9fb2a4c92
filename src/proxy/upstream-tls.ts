import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { buildConnector } from 'undici';
import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import type { DirectiveSpec, Scope } from '../config/registry';
import { checkKeyPair, parseProtocols, readPem, versionRange, type DirectiveAt } from '../config/tls';
import { flagArg } from '../config/values';

/**
 * TLS to the backends (`proxy_pass https://…`): nginx's proxy_ssl_*
 * directives. As nginx: no verification unless `proxy_ssl_verify on`,
 * which then trusts only `proxy_ssl_trusted_certificate` (not the system's
 * CAs) and checks the name `proxy_ssl_name` (default: the proxy_pass host);
 * SNI is sent only with `proxy_ssl_server_name on`, never for an address.
 */

interface Located extends DirectiveAt {
  path: string;
}

/** What one config level wrote; unset fields inherit. */
export interface UpstreamSslLevel {
  verify?: boolean;
  trusted?: Located;
  serverName?: boolean;
  name?: string;
  certificate?: Located;
  certificateKey?: Located;
  protocols?: string[];
  ciphers?: string;
  sessionReuse?: boolean;
}

/** A location's effective settings; an object shared by every location that inherits them all. */
export type UpstreamSslConf = Readonly<UpstreamSslLevel & { protocols: string[]; ciphers: string; verify: boolean; serverName: boolean; sessionReuse: boolean }>;

/** nginx 1.22's defaults for proxy_ssl_*. */
export const UPSTREAM_SSL_DEFAULTS: UpstreamSslConf = {
  verify: false,
  serverName: false,
  protocols: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
  ciphers: 'DEFAULT',
  sessionReuse: true,
};

/** A child level's settings over its parent's: the parent's object itself when the child sets none. */
export function mergeUpstreamSsl(parent: UpstreamSslConf, child: UpstreamSslLevel | undefined): UpstreamSslConf {
  if (child === undefined || Object.keys(child).length === 0) return parent;
  return { ...parent, ...child };
}

export function upstreamSslDirectives(level: (scope: Scope) => UpstreamSslLevel): DirectiveSpec[] {
  const where: DirectiveSpec['contexts'] = ['http', 'server', 'location'];
  const located = (d: Directive): Located => ({ path: d.args[0], file: d.file, line: d.line });
  const flag = (field: 'verify' | 'serverName' | 'sessionReuse') => (d: Directive, scope: Scope) => void (level(scope)[field] = flagArg(d.name, d.args[0]));
  return [
    { name: 'proxy_ssl_verify', contexts: where, args: '1', unique: true, set: flag('verify') },
    { name: 'proxy_ssl_server_name', contexts: where, args: '1', unique: true, set: flag('serverName') },
    { name: 'proxy_ssl_session_reuse', contexts: where, args: '1', unique: true, set: flag('sessionReuse') },
    { name: 'proxy_ssl_trusted_certificate', contexts: where, args: '1', unique: true, set: (d, scope) => void (level(scope).trusted = located(d)) },
    { name: 'proxy_ssl_certificate', contexts: where, args: '1', unique: true, set: (d, scope) => void (level(scope).certificate = located(d)) },
    { name: 'proxy_ssl_certificate_key', contexts: where, args: '1', unique: true, set: (d, scope) => void (level(scope).certificateKey = located(d)) },
    { name: 'proxy_ssl_protocols', contexts: where, args: '1+', unique: true, set: (d, scope) => void (level(scope).protocols = parseProtocols(d.args)) },
    { name: 'proxy_ssl_ciphers', contexts: where, args: '1', unique: true, set: (d, scope) => void (level(scope).ciphers = d.args[0]) },
    {
      name: 'proxy_ssl_name', contexts: where, args: '1', unique: true,
      set: (d, scope) => {
        // A per-request name would need a connection pool per name; nginx configs rarely vary it.
        if (d.args[0].includes('$')) throw new ConfigError('variables in "proxy_ssl_name" are not supported');
        level(scope).name = d.args[0];
      },
    },
  ];
}

/** How a pool connects to its peer over TLS; one per distinct (settings, name). */
export interface UpstreamTls {
  readonly key: string;
  /** Given to undici with each request, so the Host header never makes it reconnect for another SNI. */
  readonly dispatchName: string;
  /** The SNI sent, if any. */
  readonly sni: string | undefined;
  readonly options: tls.ConnectionOptions & { maxCachedSessions: number };
}

/** undici's connector with these TLS options; the SNI is ours, never the one undici takes from the Host header. */
export function tlsConnector(t: UpstreamTls, timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ ...t.options, timeout: timeoutMs } as buildConnector.BuildOptions);
  return (opts, callback) => connect({ ...opts, servername: t.sni }, callback);
}

/**
 * Binds the TLS of one `proxy_pass https://HOST` location at load: reads
 * the files (an [emerg] naming a missing one) and builds the connector.
 * `cache` shares one per distinct settings object and name.
 */
export function bindUpstreamTls(conf: UpstreamSslConf, passHost: string, confDir: string, cache: Map<UpstreamSslConf, Map<string, UpstreamTls>>, at: DirectiveAt): UpstreamTls {
  const name = conf.name ?? passHost;
  let byName = cache.get(conf);
  if (byName === undefined) cache.set(conf, (byName = new Map()));
  let bound = byName.get(name);
  if (bound === undefined) {
    // RFC 6066: no SNI for an address.
    const sni = conf.serverName && net.isIP(name) === 0 ? name : undefined;
    bound = { key: `tls${cache.size}/${byName.size}`, dispatchName: name, sni, options: tlsOptions(conf, name, confDir, at) };
    byName.set(name, bound);
  }
  return bound;
}

function tlsOptions(conf: UpstreamSslConf, name: string, confDir: string, at: DirectiveAt): UpstreamTls['options'] {
  const options: tls.ConnectionOptions = {
    ...versionRange(conf.protocols),
    ciphers: conf.ciphers,
    rejectUnauthorized: conf.verify,
    // Verified against proxy_ssl_name, whatever address the peer was reached at.
    checkServerIdentity: conf.verify ? (_host, cert) => tls.checkServerIdentity(name, cert) : () => undefined,
    ...trustOption(conf, confDir, at),
    ...clientCertificateOption(conf, confDir),
  };
  try {
    tls.createSecureContext(options);
  } catch (e) {
    throw new ConfigError(`invalid proxy_ssl settings: ${(e as Error).message}`, at.file, at.line);
  }
  return { ...options, maxCachedSessions: conf.sessionReuse ? 100 : 0 };
}

/** nginx trusts only proxy_ssl_trusted_certificate: with verification on and none given, nothing verifies. */
function trustOption(conf: UpstreamSslConf, confDir: string, at: DirectiveAt): { ca?: Buffer[] } {
  if (!conf.verify) return {};
  if (conf.trusted === undefined) throw new ConfigError('no proxy_ssl_trusted_certificate for proxy_ssl_verify', at.file, at.line);
  return { ca: [readPem('certificate', path.resolve(confDir, conf.trusted.path), conf.trusted)] };
}

function clientCertificateOption(conf: UpstreamSslConf, confDir: string): { cert?: Buffer; key?: Buffer } {
  const { certificate, certificateKey } = conf;
  if (certificate === undefined) return {};
  if (certificateKey === undefined) {
    throw new ConfigError(`no "proxy_ssl_certificate_key" is defined for certificate "${certificate.path}"`, certificate.file, certificate.line);
  }
  const keyPath = path.resolve(confDir, certificateKey.path);
  const pair = { cert: readPem('certificate', path.resolve(confDir, certificate.path), certificate), key: readPem('certificate key', keyPath, certificateKey) };
  checkKeyPair(pair, keyPath, certificateKey);
  return pair;
}

/** nginx's words for a failed handshake with a backend (X509 error numbers as OpenSSL's). */
const VERIFY_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: '18:self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: '19:self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: '20:unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: '21:unable to verify the first certificate',
  CERT_HAS_EXPIRED: '10:certificate has expired',
  CERT_NOT_YET_VALID: '9:certificate is not yet valid',
};

/** The nginx message for a TLS failure with a backend, or undefined when `err` is not one. */
export function describeTlsError(err: Error, name: string): string | undefined {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `upstream SSL certificate does not match "${name}"`;
  const verify = VERIFY_ERRORS[code];
  if (verify !== undefined) return `upstream SSL certificate verify error: (${verify})`;
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `SSL_do_handshake() failed (${err.message})`;
  return undefined;
}
