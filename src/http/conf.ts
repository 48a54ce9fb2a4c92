import type { Scope } from '../config/registry';
import type { HttpContext, OutHeaders } from './context';

export interface ListenConf {
  host: string; // '' = all addresses
  port: number;
  defaultServer: boolean;
  /** `listen ... ssl`: TLS is terminated on this socket. */
  ssl?: boolean;
  file: string;
  line: number;
}

export type ServerNameMatch =
  | { kind: 'exact'; name: string }
  | { kind: 'wildcard-head'; suffix: string } // *.example.com
  | { kind: 'wildcard-tail'; prefix: string } // www.example.*
  | { kind: 'regex'; re: RegExp; source: string };

/** A content handler answers the request (return, proxy_pass, api, prometheus). */
export type ContentHandler = (r: HttpContext) => void | Promise<void>;

/** `if` marks the anonymous location of an `if (...) { }` block; the location search never sees it. */
export type LocationModifier = '' | '=' | '^~' | '~' | '~*' | '@' | 'if';

export class LocationConf {
  readonly children: LocationConf[] = [];
  content?: ContentHandler;
  /** Effective (merged) module confs, by module name. */
  conf: Record<string, unknown> = {};
  regex?: RegExp;

  constructor(
    readonly name: string,
    readonly modifier: LocationModifier,
    readonly scope: Scope,
    readonly server: ServerConf,
    readonly parent: LocationConf | undefined,
    readonly file: string,
    readonly line: number,
  ) {}
}

export class ServerConf {
  readonly listens: ListenConf[] = [];
  readonly names: ServerNameMatch[] = [];
  /** The first name as written, for $server_name. */
  primaryName = '';
  /** The implicit server-level location: holds server-level module confs. */
  root!: LocationConf;
  readonly locations: LocationConf[] = [];
  readonly named = new Map<string, LocationConf>();
  keepaliveTimeoutMs = 75_000;
  /** client_header_timeout: the whole request head must arrive within it (slow clients are cut). */
  clientHeaderTimeoutMs = 60_000;
  /** Bytes the whole request head may take (Node's parser limits the head, not each line as nginx does). */
  maxHeaderBytes = 16 * 1024;
  clientMaxBodySize = 1024 * 1024;
  statusZone?: string;
  /** The server's TLS settings (certificates, protocols) when it listens with `ssl`. */
  tls?: import('node:tls').SecureContextOptions;
  /** ssl_verify_client: whether the handshake asks for a client certificate, and what a request needs. */
  tlsVerifyClient: 'off' | 'on' | 'optional' | 'optional_no_ca' = 'off';

  constructor(
    readonly scope: Scope,
    readonly file: string,
    readonly line: number,
  ) {}
}

export type HeaderFilter = (r: HttpContext, headers: OutHeaders) => void;
/** Returns true when it produced the response, so later handlers of the request stop. */
export type PhaseHandler = (r: HttpContext) => boolean;
export type LogHandler = (r: HttpContext) => void;

export interface Phases {
  /** Server-level rewrite: before the location is chosen. */
  serverRewrite: PhaseHandler[];
  rewrite: PhaseHandler[];
  access: PhaseHandler[];
  precontent: PhaseHandler[];
  header: HeaderFilter[];
  log: LogHandler[];
}
