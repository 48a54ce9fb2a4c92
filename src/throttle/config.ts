/**
 * `throttle_zone NAME:SIZE { ... }`: what is watched, when a key breaches,
 * what a trigger applies and how it is released. Every check names the
 * line of the offending sub-directive.
 */
import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { parseSize, parseTime } from '../config/values';
import { parseRate } from '../limit/zone';
import type { ZoneDef } from '../metric/zone';
import { syncFromBlock, type SyncTarget } from '../config/sync-target';

/** What a throttle applies to a key: a concurrency cap or a request rate (thousandths of r/s, as limit_req). */
export interface ThrottleLimit {
  maxConcurrency?: number;
  rate?: number;
}

export interface ThrottleZoneDef {
  name: string;
  size: number;
  /** The watched metric zone and sub-metric (undefined: the zone's whole value). */
  watch: { zone: string; sub?: string; file: string; line: number };
  above: number;
  samples: number;
  intervalMs: number;
  limit: ThrottleLimit;
  ttlMs: number;
  recover?: { below: number; samples: number };
  exempt: ReadonlySet<string>;
  status: number;
  auditLog?: string;
  alert?: string;
  /** The fleet's Redis: states set here apply on every instance (src/fleet/). */
  sync?: SyncTarget;
  file: string;
  line: number;
}

/** The most requests in flight a throttle may allow: limit_conn's bound. */
const MAX_CONCURRENCY = 65535;

function number(text: string, what: string): number {
  const v = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v)) throw new ConfigError(`invalid ${what} "${text}"`);
  return v;
}

function positiveInt(text: string, what: string): number {
  const v = /^\d+$/.test(text) ? Number(text) : 0;
  if (v <= 0 || !Number.isSafeInteger(v)) throw new ConfigError(`invalid ${what} "${text}"`);
  return v;
}

function duration(text: string, what: string): number {
  const ms = parseTime(text);
  if (ms === undefined || ms <= 0) throw new ConfigError(`invalid ${what} "${text}"`);
  return ms;
}

/** `param=value` arguments, each allowed name at most once. */
function params(args: readonly string[], allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const name = arg.slice(0, eq);
    if (eq <= 0 || !allowed.includes(name)) throw new ConfigError(`invalid parameter "${arg}"`);
    if (out.has(name)) throw new ConfigError(`duplicate parameter "${name}"`);
    out.set(name, arg.slice(eq + 1));
  }
  return out;
}

/** `limit max_concurrency=N | rate=Nr/s [ttl=TIME];` */
function parseLimit(args: readonly string[], def: Partial<ThrottleZoneDef>): void {
  const p = params(args, ['max_concurrency', 'rate', 'ttl']);
  const conc = p.get('max_concurrency');
  const rate = p.get('rate');
  if ((conc === undefined) === (rate === undefined)) throw new ConfigError('"limit" needs one of "max_concurrency=" or "rate="');
  if (conc !== undefined) {
    const n = positiveInt(conc, 'max_concurrency');
    if (n > MAX_CONCURRENCY) throw new ConfigError(`max_concurrency must be less than ${MAX_CONCURRENCY + 1}`);
    def.limit = { maxConcurrency: n };
  } else def.limit = { rate: parseRate(`rate=${rate}`) };
  def.ttlMs = duration(p.get('ttl') ?? '5m', 'ttl');
}

/** `recover below=X [samples=N];` */
function parseRecover(args: readonly string[], def: Partial<ThrottleZoneDef>): void {
  const p = params(args, ['below', 'samples']);
  const below = p.get('below');
  if (below === undefined) throw new ConfigError('"recover" needs "below="');
  def.recover = { below: number(below, 'below'), samples: positiveInt(p.get('samples') ?? '1', 'samples') };
}

function parseStatus(text: string): number {
  const status = /^\d+$/.test(text) ? Number(text) : 0;
  if (status < 400 || status > 599) throw new ConfigError('value must be between 400 and 599');
  return status;
}

function parseWatch(d: Directive): ThrottleZoneDef['watch'] {
  const parts = d.args[0].split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new ConfigError(`invalid watch "${d.args[0]}", it must be ZONE or ZONE/METRIC`);
  return { zone: parts[0], sub: parts[1], file: d.file, line: d.line };
}

type SubParser = { args: string; apply(d: Directive, def: Partial<ThrottleZoneDef>): void };

const ONE = '1';
const SUBS: Record<string, SubParser> = {
  watch: { args: ONE, apply: (d, def) => void (def.watch = parseWatch(d)) },
  above: { args: ONE, apply: (d, def) => void (def.above = number(d.args[0], 'above')) },
  samples: { args: ONE, apply: (d, def) => void (def.samples = positiveInt(d.args[0], 'samples')) },
  interval: { args: ONE, apply: (d, def) => void (def.intervalMs = duration(d.args[0], 'interval')) },
  limit: { args: '+', apply: (d, def) => parseLimit(d.args, def) },
  recover: { args: '+', apply: (d, def) => parseRecover(d.args, def) },
  exempt: { args: '+', apply: (d, def) => void (def.exempt = new Set([...(def.exempt ?? []), ...d.args])) },
  status: { args: ONE, apply: (d, def) => void (def.status = parseStatus(d.args[0])) },
  audit_log: { args: ONE, apply: (d, def) => void (def.auditLog = d.args[0]) },
  alert: { args: ONE, apply: (d, def) => void (def.alert = parseAlertUrl(d.args[0])) },
  sync: { args: '+', apply: (d, def) => void (def.sync = syncFromBlock(d.args)) },
};

function parseAlertUrl(text: string): string {
  if (!/^http:\/\/[^/\s]+\/?$/.test(text)) throw new ConfigError(`invalid alert URL "${text}", it must be http://HOST:PORT`);
  return text.replace(/\/$/, '');
}

function applySub(sub: Directive, def: Partial<ThrottleZoneDef>, seen: Set<string>): void {
  const parser = SUBS[sub.name];
  if (parser === undefined) throw new ConfigError(`unknown directive "${sub.name}" in "throttle_zone"`);
  if (sub.block !== undefined) throw new ConfigError('unexpected "{"');
  if (parser.args === ONE ? sub.args.length !== 1 : sub.args.length === 0) {
    throw new ConfigError(`invalid number of arguments in "${sub.name}" directive`);
  }
  if (sub.name !== 'exempt' && seen.has(sub.name)) throw new ConfigError(`"${sub.name}" directive is duplicate`);
  seen.add(sub.name);
  parser.apply(sub, def);
}

function zoneSpec(arg: string): { name: string; size: number } {
  const colon = arg.lastIndexOf(':');
  const size = colon <= 0 ? undefined : parseSize(arg.slice(colon + 1));
  if (size === undefined || size === 0) throw new ConfigError(`invalid zone size "${arg}"`);
  return { name: arg.slice(0, colon), size };
}

/** The whole block; the watched zone is checked later (checkWatch), once every metric zone is known. */
export function parseThrottleZone(d: Directive): ThrottleZoneDef {
  const def: Partial<ThrottleZoneDef> = { ...zoneSpec(d.args[0]), samples: 3, intervalMs: 10_000, status: 429, exempt: new Set(), file: d.file, line: d.line };
  const seen = new Set<string>();
  for (const sub of d.block ?? []) {
    try {
      applySub(sub, def, seen);
    } catch (e) {
      throw e instanceof ConfigError ? e.at(sub.file, sub.line) : e;
    }
  }
  for (const required of ['watch', 'above', 'limit'] as const) {
    if (def[required] === undefined) throw new ConfigError(`"throttle_zone" has no "${required}"`);
  }
  const full = def as ThrottleZoneDef;
  if (full.recover !== undefined && full.recover.below >= full.above) {
    throw new ConfigError(`"recover" below=${full.recover.below} must be less than "above" ${full.above}`);
  }
  return full;
}

/** The watched zone and sub-metric must exist. */
export function checkWatch(def: ThrottleZoneDef, zones: ReadonlyMap<string, ZoneDef>): void {
  const { zone, sub, file, line } = def.watch;
  const found = zones.get(zone);
  if (found === undefined) throw new ConfigError(`unknown metric zone "${zone}"`, file, line);
  if (sub !== undefined && !found.metrics.some((m) => m.name === sub)) {
    throw new ConfigError(`unknown metric "${sub}" in zone "${zone}"`, file, line);
  }
  if (sub === undefined && found.complex) throw new ConfigError(`watch of complex zone "${zone}" must name a metric: "${zone}/METRIC"`, file, line);
}

/** The zone's rule in words (`tenant_load/latency above 0.5`): an automatic throttle's reason, the alerts' `rule` label. */
export function ruleText(def: ThrottleZoneDef): string {
  const { zone, sub } = def.watch;
  return `${sub === undefined ? zone : `${zone}/${sub}`} above ${def.above}`;
}
