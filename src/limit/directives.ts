import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import type { DirectiveSpec, Scope } from '../config/registry';
import { parseFlag } from '../config/values';
import type { Builder } from '../http/builder';
import type { HttpContext } from '../http/context';
import { ipBytes, unmapV4 } from '../http/ip';
import { logRequest } from '../http/error-log';
import { LimitKind, LimitZoneDef, MAX_KEY_BYTES } from './zone';

/** What `limit_req_*` / `limit_conn_*` set beside the limits themselves. */
export interface LimitSettings {
  logLevel?: string;
  status?: number;
  dryRun?: boolean;
}

/** One level's own conf: its settings and its `limit_req` / `limit_conn` lines (`S`) as written. */
export interface LimitConf<S> extends LimitSettings {
  specs?: S[];
}

/** A location's effective conf: every setting decided, the specs inherited, their zones resolved (`L`). */
export type EffectiveLimits<S, L> = Required<LimitSettings> & { specs: S[]; limits: L[] };

const LOG_LEVELS = new Set(['info', 'notice', 'warn', 'error']);

/** nginx's delay log level: one step quieter than the limiting one, info stays info. */
export function quieter(level: string): string {
  return ({ info: 'info', notice: 'info', warn: 'notice', error: 'warn' } as Record<string, string>)[level];
}

function setting(kind: LimitKind, d: Directive): LimitSettings {
  const v = d.args[0];
  if (d.name.endsWith('_log_level')) {
    if (!LOG_LEVELS.has(v)) throw new ConfigError(`invalid value "${v}"`);
    return { logLevel: v };
  }
  if (d.name.endsWith('_dry_run')) {
    const on = parseFlag(v);
    if (on === undefined) throw new ConfigError(`invalid value "${v}" in "${d.name}" directive, it must be "on" or "off"`);
    return { dryRun: on };
  }
  if (!/^\d+$/.test(v)) throw new ConfigError(`"${kind}_status" directive invalid number`);
  const status = Number(v);
  if (status < 400 || status > 599) throw new ConfigError('value must be between 400 and 599');
  return { status };
}

/** `KIND_status`, `KIND_log_level`, `KIND_dry_run`: one value each per level, inherited as nginx. */
export function settingDirectives(kind: LimitKind, conf: (scope: Scope) => LimitSettings): DirectiveSpec[] {
  return ['status', 'log_level', 'dry_run'].map((suffix) => ({
    name: `${kind}_${suffix}`,
    contexts: ['http', 'server', 'location'] as const,
    args: '1',
    unique: true,
    set: (d: Directive, scope: Scope) => void Object.assign(conf(scope), setting(kind, d)),
  }));
}

/**
 * nginx's merge: each setting from the nearest level that set it, else the
 * default; the limits of the nearest level that has any (not added up).
 */
export function mergeLimits<S, L>(parent: EffectiveLimits<S, L> | undefined, child: LimitConf<S> | undefined): EffectiveLimits<S, L> {
  return {
    specs: child?.specs ?? parent?.specs ?? [],
    limits: [],
    logLevel: child?.logLevel ?? parent?.logLevel ?? 'error',
    status: child?.status ?? parent?.status ?? 503,
    dryRun: child?.dryRun ?? parent?.dryRun ?? false,
  };
}

/** The error log line nginx writes for a limited request, at the configured level. */
export function logLimit(level: string, text: string, r: HttpContext): void {
  logRequest(r, level, text);
}

/**
 * `$limit_req_status` / `$limit_conn_status`: what the module decided for
 * this request, if anything; and nginx's usual key `$binary_remote_addr`
 * (the client address as 4 or 16 bytes) unless the core defines it.
 */
export function defineVariables(b: Builder, kind: LimitKind): void {
  b.variables.define(`${kind}_status`, (r) => r.moduleCtx[`${kind}_status`] as string | undefined);
  if (b.variables.lookup('binary_remote_addr') !== undefined) return;
  b.variables.define('binary_remote_addr', (r) => {
    const bytes = ipBytes(unmapV4(r.req.socket.remoteAddress ?? ''));
    return bytes === undefined ? '' : String.fromCharCode(...bytes);
  });
}

/** The request's key in a zone; empty (not limited) when too long, as nginx logs and skips it. */
export function limitKey(r: HttpContext, def: LimitZoneDef): string {
  const key = def.key.eval(r);
  if (key.length <= MAX_KEY_BYTES[def.kind]) return key;
  logLimit('error', `the value of the "${def.key.source}" key is more than ${MAX_KEY_BYTES[def.kind]} bytes: "${key.slice(0, 64)}..."`, r);
  return '';
}
