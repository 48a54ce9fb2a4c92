import { ConfigError } from '../config/errors';
import { HeaderPlan, HeaderSetting, headerPlan } from './headers';
import { UPSTREAM_SSL_DEFAULTS, UpstreamSslConf, UpstreamSslLevel, mergeUpstreamSsl } from './upstream-tls';

/** proxy_next_upstream conditions, nginx's NGX_HTTP_UPSTREAM_FT_* bits. */
export const FT = {
  error: 1 << 0,
  timeout: 1 << 1,
  invalid_header: 1 << 2,
  http_500: 1 << 3,
  http_502: 1 << 4,
  http_503: 1 << 5,
  http_504: 1 << 6,
  http_403: 1 << 7,
  http_404: 1 << 8,
  http_429: 1 << 9,
  non_idempotent: 1 << 10,
  off: 1 << 11,
} as const;

export type FtName = keyof typeof FT;

/** The response statuses proxy_next_upstream can act on, and their bit. */
export const STATUS_FT: Readonly<Record<number, number>> = {
  500: FT.http_500,
  502: FT.http_502,
  503: FT.http_503,
  504: FT.http_504,
  403: FT.http_403,
  404: FT.http_404,
  429: FT.http_429,
};

/** Statuses that never count against a peer's health (nginx: "never considered unsuccessful"). */
export const NOT_A_FAILURE = FT.http_403 | FT.http_404;

/** A location's effective proxy settings (after inheritance). */
export interface ProxyLocConf {
  headers: HeaderPlan;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  sendTimeoutMs: number;
  /** FT bits; 0 for `off`. */
  nextUpstream: number;
  /** proxy_next_upstream_tries, 0 = no limit. */
  nextUpstreamTries: number;
  /** proxy_ssl_*: used by `proxy_pass https://`. */
  ssl: UpstreamSslConf;
}

/** What one config level wrote; unset fields inherit. */
export interface ProxyLevelConf {
  headers?: HeaderSetting[];
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  sendTimeoutMs?: number;
  nextUpstream?: number;
  nextUpstreamTries?: number;
  ssl?: UpstreamSslLevel;
}

const DEFAULTS = {
  connectTimeoutMs: 60_000,
  readTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  nextUpstream: FT.error | FT.timeout,
  nextUpstreamTries: 0,
  ssl: UPSTREAM_SSL_DEFAULTS,
};

export function parseNextUpstream(args: readonly string[]): number {
  let mask = 0;
  for (const a of args) {
    if (!Object.prototype.hasOwnProperty.call(FT, a)) throw new ConfigError(`invalid value "${a}"`);
    mask |= FT[a as FtName];
  }
  return mask & FT.off ? 0 : mask;
}

/**
 * nginx inheritance: each slot comes from the nearest level that set it;
 * proxy_set_header lists are taken whole from the nearest level that has
 * any. `Host: $proxy_host` is added unless the list sets Host itself.
 */
export function mergeProxyConf(parent: ProxyLocConf | undefined, child: ProxyLevelConf | undefined, defaultHost: HeaderSetting): ProxyLocConf {
  const c = child ?? {};
  const base = parent ?? { ...DEFAULTS, headers: headerPlan([defaultHost]) };
  let headers = base.headers;
  if (c.headers !== undefined) {
    const own = c.headers.some((h) => h.lname === 'host') ? c.headers : [defaultHost, ...c.headers];
    headers = headerPlan(own);
  }
  return {
    headers,
    connectTimeoutMs: c.connectTimeoutMs ?? base.connectTimeoutMs,
    readTimeoutMs: c.readTimeoutMs ?? base.readTimeoutMs,
    sendTimeoutMs: c.sendTimeoutMs ?? base.sendTimeoutMs,
    nextUpstream: c.nextUpstream ?? base.nextUpstream,
    nextUpstreamTries: c.nextUpstreamTries ?? base.nextUpstreamTries,
    ssl: mergeUpstreamSsl(base.ssl, c.ssl),
  };
}
