import { ConfSlot, type Scope } from '../config/registry';
import type { HttpContext, OutHeaders } from './context';
import type { TypesMap } from './mime';
import type { ComplexValue } from './variables';

/**
 * The location-level confs of the core, with their defaults in one place:
 * the core module fills them (client_max_body_size, timeouts, root, types,
 * error_page...), the core and the other modules read them.
 */
export interface CoreLocConf {
  clientMaxBodySize: number;
  keepaliveTimeoutMs: number;
  clientHeaderTimeoutMs: number;
  maxHeaderBytes: number;
}

export const CORE_DEFAULTS: Readonly<CoreLocConf> = {
  clientMaxBodySize: 1024 * 1024,
  keepaliveTimeoutMs: 75_000,
  clientHeaderTimeoutMs: 60_000,
  maxHeaderBytes: 16 * 1024,
};

/** `alias` keeps how much of the URI it replaces: the prefix location's name, or all of it (regex). */
export interface Alias {
  path: ComplexValue;
  strip: number | 'all';
}

/** root, alias, index, try_files, types, default_type (the static module's slot). */
export interface StaticConf {
  root: ComplexValue;
  alias: Alias | undefined;
  index: ComplexValue[];
  /** try_files: not inherited, as in nginx. */
  tryFiles: ComplexValue[] | undefined;
  types: TypesMap;
  defaultType: string;
}

/** One `error_page CODE... [=[RESPONSE]] TARGET`. */
export interface ErrorPage {
  codes: Set<number>;
  /** `=CODE`: that status; `=`: the redirected response's own; undefined: the original error's. */
  overwrite: number | 'response' | undefined;
  target: ComplexValue;
}

/** error_page, recursive_error_pages, proxy_intercept_errors (the error_page module's slot). */
export interface ErrorPageConf {
  pages?: ErrorPage[];
  recursive?: boolean;
  /** proxy_intercept_errors: upstream answers >= 300 with an error_page go through it. */
  intercept?: boolean;
}

export interface ListenConf {
  host: string; // '' = all addresses
  port: number;
  defaultServer: boolean;
  /** `listen ... ssl`: TLS is terminated on this socket. */
  ssl?: boolean;
  /** `listen ... http2`: the address offers HTTP/2 (through ALPN) for every server on it. */
  http2?: boolean;
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

export interface Http2Settings {
  /** `http2 on` (the address may also enable it with `listen … http2`). */
  enabled: boolean;
  /** http2_max_concurrent_streams: streams one connection may have open. */
  maxConcurrentStreams: number;
}

/** nginx's: off, 128 streams. */
export const HTTP2_DEFAULTS: Readonly<Http2Settings> = { enabled: false, maxConcurrentStreams: 128 };

export class ServerConf {
  readonly listens: ListenConf[] = [];
  readonly names: ServerNameMatch[] = [];
  /** The first name as written, for $server_name. */
  primaryName = '';
  /** The implicit server-level location: holds server-level module confs. */
  root!: LocationConf;
  readonly locations: LocationConf[] = [];
  readonly named = new Map<string, LocationConf>();
  keepaliveTimeoutMs = CORE_DEFAULTS.keepaliveTimeoutMs;
  /** client_header_timeout: the whole request head must arrive within it (slow clients are cut). */
  clientHeaderTimeoutMs = CORE_DEFAULTS.clientHeaderTimeoutMs;
  /** Bytes the whole request head may take (Node's parser limits the head, not each line as nginx does). */
  maxHeaderBytes = CORE_DEFAULTS.maxHeaderBytes;
  statusZone?: string;
  /** The server's TLS settings (certificates, protocols) when it listens with `ssl`. */
  tls?: import('node:tls').SecureContextOptions;
  /** ssl_verify_client: whether the handshake asks for a client certificate, and what a request needs. */
  tlsVerifyClient: 'off' | 'on' | 'optional' | 'optional_no_ca' = 'off';
  /** `http2 on` and http2_max_concurrent_streams, set by the http2 module. */
  http2: Http2Settings = HTTP2_DEFAULTS;

  constructor(
    readonly scope: Scope,
    readonly file: string,
    readonly line: number,
  ) {}
}

/** The server a server- or location-context directive stands in. */
export function serverOf(scope: Scope): ServerConf {
  for (let s: Scope | undefined = scope; s; s = s.parent) if (s.owner instanceof ServerConf) return s.owner;
  throw new Error('no server scope');
}

/** The location a location-context directive stands in. */
export function locationOf(scope: Scope): LocationConf {
  if (!(scope.owner instanceof LocationConf)) throw new Error('location scope without its LocationConf');
  return scope.owner;
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

/** The core's slot (client_max_body_size, timeouts, ...): every level has one after the merge. */
export const CORE = new ConfSlot<CoreLocConf, Partial<Record<keyof CoreLocConf, number>>>('core');
/** The static module's slot (root/alias, index, types, try_files). */
export const STATIC = new ConfSlot<StaticConf, Partial<StaticConf>>('static');
/** error_page's slot. */
export const ERROR_PAGE = new ConfSlot<ErrorPageConf>('error_page');
