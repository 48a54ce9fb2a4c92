import * as path from 'node:path';
import * as tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import { ConfigError } from '../../config/errors';
import { checkKeyPair, parseProtocols, readPem, versionRange } from '../../config/tls';
import type { Directive } from '../../config/parser';
import { ConfSlot, type DirectiveSpec, type Scope } from '../../config/registry';
import { flagArg, parseTime } from '../../config/values';
import type { Module } from '../module';
import type { Builder } from '../builder';
import type { HttpContext } from '../context';
import type { ServerConf } from '../conf';
import { VERIFY_MODES, VerifyClient, checkClientCertificate, defineClientVariables } from './ssl-verify';

/**
 * TLS termination (nginx's ngx_http_ssl_module, the part Node's TLS maps
 * to): certificates per server (several: RSA and ECDSA), protocols,
 * ciphers, session resumption, and the $ssl_* variables. Each server's
 * secure context is built at load, so a bad key is an [emerg] at load
 * and a reload (new workers, new load) reads the files again.
 */

const NAME = 'ssl';

interface SslLevelConf {
  certificates?: Array<{ file: string; line: number; path: string }>;
  keys?: string[];
  protocols?: string[];
  ciphers?: string;
  preferServerCiphers?: boolean;
  sessionTimeoutS?: number;
  sessionTickets?: boolean;
  clientCertificate?: { file: string; line: number; path: string };
  verifyClient?: VerifyClient;
}

type SslConf = Required<Omit<SslLevelConf, 'clientCertificate'>> & Pick<SslLevelConf, 'clientCertificate'>;

const SLOT = new ConfSlot<SslConf, SslLevelConf>(NAME);

/** nginx's defaults (1.22): TLSv1.2 and TLSv1.3 on, HIGH:!aNULL:!MD5, 5 minute sessions, tickets on. */
const DEFAULTS: SslConf = {
  certificates: [],
  keys: [],
  protocols: ['TLSv1.2', 'TLSv1.3'],
  ciphers: 'HIGH:!aNULL:!MD5',
  preferServerCiphers: false,
  sessionTimeoutS: 300,
  sessionTickets: true,
  verifyClient: 'off',
};


function levelConf(scope: Scope): SslLevelConf {
  return SLOT.at(scope, () => ({}));
}

function flag(d: Directive): boolean {
  return flagArg(d.name, d.args[0]);
}

/** `off`, `none`, `builtin[:N]`, `shared:NAME:SIZE`: checked, then left to Node (tickets, no shared id cache). */
function checkSessionCache(d: Directive): void {
  for (const a of d.args) {
    if (a === 'off' || a === 'none' || /^builtin(:\d+)?$/.test(a) || /^shared:[^:]+:\d+[kKmM]?$/.test(a)) continue;
    throw new ConfigError(`invalid session cache "${a}"`);
  }
}

function sslDirectives(): DirectiveSpec[] {
  const where = ['http', 'server'] as const;
  return [
    {
      name: 'ssl_certificate', contexts: where, args: '1',
      set: (d, scope) => void (levelConf(scope).certificates ??= []).push({ file: d.file, line: d.line, path: d.args[0] }),
    },
    { name: 'ssl_certificate_key', contexts: where, args: '1', set: (d, scope) => void (levelConf(scope).keys ??= []).push(d.args[0]) },
    {
      name: 'ssl_protocols', contexts: where, args: '1+', unique: true,
      set: (d, scope) => {
        levelConf(scope).protocols = parseProtocols(d.args);
      },
    },
    { name: 'ssl_ciphers', contexts: where, args: '1', unique: true, set: (d, scope) => void (levelConf(scope).ciphers = d.args[0]) },
    { name: 'ssl_prefer_server_ciphers', contexts: where, args: '1', unique: true, set: (d, scope) => void (levelConf(scope).preferServerCiphers = flag(d)) },
    { name: 'ssl_session_tickets', contexts: where, args: '1', unique: true, set: (d, scope) => void (levelConf(scope).sessionTickets = flag(d)) },
    {
      name: 'ssl_client_certificate', contexts: where, args: '1', unique: true,
      set: (d, scope) => void (levelConf(scope).clientCertificate = { file: d.file, line: d.line, path: d.args[0] }),
    },
    {
      name: 'ssl_verify_client', contexts: where, args: '1', unique: true,
      set: (d, scope) => {
        const mode = VERIFY_MODES.find((m) => m === d.args[0]);
        if (mode === undefined) throw new ConfigError(`invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on", "off", "optional" or "optional_no_ca"`);
        levelConf(scope).verifyClient = mode;
      },
    },
    { name: 'ssl_session_cache', contexts: where, args: '1..2', unique: true, set: (d) => checkSessionCache(d) },
    {
      name: 'ssl_session_timeout', contexts: where, args: '1', unique: true,
      set: (d, scope) => {
        const ms = parseTime(d.args[0]);
        if (ms === undefined) throw new ConfigError(`"${d.name}" directive invalid value`);
        levelConf(scope).sessionTimeoutS = Math.ceil(ms / 1000);
      },
    },
  ];
}

function mergeSsl(parent: unknown, child: unknown): SslConf {
  const p = (parent as SslConf | undefined) ?? DEFAULTS;
  const c = (child as SslLevelConf | undefined) ?? {};
  // Certificates are inherited as a set, as nginx: a level with its own replaces the whole list.
  const own = c.certificates !== undefined;
  return {
    certificates: own ? c.certificates! : p.certificates,
    keys: own ? (c.keys ?? []) : (c.keys ?? p.keys),
    protocols: c.protocols ?? p.protocols,
    ciphers: c.ciphers ?? p.ciphers,
    preferServerCiphers: c.preferServerCiphers ?? p.preferServerCiphers,
    sessionTimeoutS: c.sessionTimeoutS ?? p.sessionTimeoutS,
    sessionTickets: c.sessionTickets ?? p.sessionTickets,
    clientCertificate: c.clientCertificate ?? p.clientCertificate,
    verifyClient: c.verifyClient ?? p.verifyClient,
  };
}



/** The server's secure context; each certificate/key pair is checked alone first so an error names its files. */
function secureContextOf(server: ServerConf, conf: SslConf, confDir: string, listen: { file: string; line: number }): tls.SecureContextOptions {
  if (conf.certificates.length === 0) {
    throw new ConfigError('no "ssl_certificate" is defined for the "listen ... ssl" directive', listen.file, listen.line);
  }
  const cert: Buffer[] = [];
  const key: Buffer[] = [];
  conf.certificates.forEach((c, i) => {
    const certPath = path.resolve(confDir, c.path);
    const keyText = conf.keys[i];
    if (keyText === undefined) throw new ConfigError(`no "ssl_certificate_key" is defined for certificate "${c.path}"`, c.file, c.line);
    const keyPath = path.resolve(confDir, keyText);
    const pair = { cert: readPem('certificate', certPath, c), key: readPem('certificate key', keyPath, c) };
    checkKeyPair(pair, keyPath, c);
    cert.push(pair.cert);
    key.push(pair.key);
  });
  const options: tls.SecureContextOptions = {
    cert,
    key,
    ...versionRange(conf.protocols),
    ciphers: conf.ciphers,
    honorCipherOrder: conf.preferServerCiphers,
    sessionTimeout: conf.sessionTimeoutS,
    secureOptions: conf.sessionTickets ? 0 : cryptoConstants.SSL_OP_NO_TICKET,
    ...clientCaOption(conf, confDir, server),
  };
  try {
    tls.createSecureContext(options);
  } catch (e) {
    throw new ConfigError(`invalid TLS settings in server: ${(e as Error).message}`, server.file, server.line);
  }
  return options;
}

/** The CAs client certificates are checked against (ssl_verify_client on|optional needs them, as nginx). */
function clientCaOption(conf: SslConf, confDir: string, server: ServerConf): { ca?: Buffer } {
  const ca = conf.clientCertificate;
  if (ca === undefined) {
    if (conf.verifyClient === 'on' || conf.verifyClient === 'optional') throw new ConfigError('no ssl_client_certificate for ssl_verify_client', server.file, server.line);
    return {};
  }
  return { ca: readPem('client certificate', path.resolve(confDir, ca.path), ca) };
}

function tlsSocket(r: HttpContext): tls.TLSSocket | undefined {
  const s = r.req.socket as tls.TLSSocket;
  return s.encrypted ? s : undefined;
}

function defineSslVariables(b: Builder): void {
  const v = b.variables;
  v.define('ssl_protocol', (r) => tlsSocket(r)?.getProtocol() ?? '');
  v.define('ssl_cipher', (r) => tlsSocket(r)?.getCipher().name ?? '');
  v.define('ssl_server_name', (r) => {
    const name = tlsSocket(r)?.servername;
    return typeof name === 'string' ? name : '';
  });
  v.define('https', (r) => (tlsSocket(r) !== undefined ? 'on' : ''));
  v.define('scheme', (r) => (tlsSocket(r) !== undefined ? 'https' : 'http'));
  defineClientVariables(v, tlsSocket);
}

export function sslModule(): Module {
  return {
    name: NAME,
    directives: sslDirectives(),
    preconfiguration: defineSslVariables,
    merge: mergeSsl,
    postconfiguration(b) {
      const confDir = path.dirname(b.confFile);
      for (const server of b.servers) {
        const listen = server.listens.find((l) => l.ssl);
        if (listen === undefined) continue;
        const conf = SLOT.get(server.root.conf);
        server.tls = secureContextOf(server, conf, confDir, listen);
        server.tlsVerifyClient = conf.verifyClient;
      }
      b.phases.serverRewrite.push((r) => checkClientCertificate(r, tlsSocket(r)));
    },
  };
}
