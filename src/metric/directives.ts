import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { parseSize, parseTime } from '../config/values';
import type { HttpContext } from '../http/context';
import type { Phases } from '../http/conf';
import { ComplexValue, VariableRegistry } from '../http/variables';
import { toBytes } from '../config/bytes';
import { parseMetricSpec } from './modes';
import type { MetricZone } from './engine';
import { MIN_ZONE_SIZE, ZoneDef, ZoneMetric } from './zone';

/** A stage's place in the request: registers its handler in its phase. */
type StagePhase = (phases: Phases, handler: (r: HttpContext) => void) => void;

/**
 * Angie's stages of a request, in order (their index is the stage): the
 * name `on=` gives, and the phase whose handler runs the stage's updates
 * (and those of any earlier stage the request skipped: a `return` never
 * reaches precontent). The one place a stage is spelled.
 */
export const STAGES: ReadonlyArray<{ name: string; phase: StagePhase }> = [
  { name: 'request', phase: (p, handler) => p.precontent.push((r) => (handler(r), false)) },
  { name: 'response', phase: (p, handler) => p.header.push((r) => handler(r)) },
  { name: 'end', phase: (p, handler) => p.log.push(handler) },
];

/** One `metric NAME KEY[=VALUE] [on=STAGE]` as compiled at load. */
export interface MetricDirective {
  /** Bound at load: the update needs no lookup by zone name. */
  zone: MetricZone;
  key: ComplexValue;
  value: ComplexValue;
  /** Index in STAGES. */
  stage: number;
}

/** The smallest `metric_store ... size=`: an empty store with a few zones already takes ~40k. */
export const MIN_STORE_SIZE = 128 * 1024;

/** `metric_store PATH [size=SIZE];` */
export function parseMetricStore(d: Directive): { dir: string; sizeBytes: number | undefined } {
  if (d.args.length === 1) return { dir: d.args[0], sizeBytes: undefined };
  const option = d.args[1];
  if (!option.startsWith('size=')) throw new ConfigError(`invalid parameter "${option}"`);
  const size = parseSize(option.slice('size='.length));
  if (size === undefined || size === 0) throw new ConfigError(`invalid store size "${option.slice('size='.length)}"`);
  if (size < MIN_STORE_SIZE) throw new ConfigError(`metric store size is too small, at least ${MIN_STORE_SIZE} bytes expected`);
  return { dir: d.args[0], sizeBytes: size };
}

/** `name:size` as Angie's zone spec. */
function parseZoneSpec(spec: string): { name: string; size: number } {
  const colon = spec.lastIndexOf(':');
  if (colon <= 0) throw new ConfigError(`invalid zone size "${spec}"`);
  const name = spec.slice(0, colon);
  const size = parseSize(spec.slice(colon + 1));
  if (size === undefined || size === 0) throw new ConfigError(`invalid zone size "${spec.slice(colon + 1)}"`);
  if (size < MIN_ZONE_SIZE) throw new ConfigError(`zone "${name}" is too small, at least ${MIN_ZONE_SIZE} bytes expected`);
  return { name, size };
}

interface ZoneOptions {
  expire: boolean;
  discardKey?: string;
  ttl?: number;
  /** Index of the first argument that is not a zone option. */
  next: number;
}

/** `ttl=TIME`: a positive nginx time (`30s`, `5m`, `1h30m`; a bare number is seconds). */
function parseTtl(text: string): number {
  const ms = parseTime(text);
  if (ms === undefined || ms === 0) throw new ConfigError(`invalid ttl "${text}"`);
  return ms;
}

/** Reads `expire=`, `discard_key=` and `ttl=` after the zone spec; stops at the first other word. */
function parseZoneOptions(args: string[], start: number, strict: boolean): ZoneOptions {
  const opts: ZoneOptions = { expire: false, next: start };
  for (let i = start; i < args.length; i++, opts.next = i) {
    const a = args[i];
    if (a.startsWith('expire=')) {
      const v = a.slice(7);
      if (v !== 'on' && v !== 'off') throw new ConfigError(`unknown expire mode "${v}"`);
      opts.expire = v === 'on';
    } else if (a.startsWith('discard_key=')) {
      // nginx keeps quotes inside a bare word; the docs' `discard_key="old"` means the key `old`.
      opts.discardKey = toBytes(a.slice(12).replace(/^"(.*)"$|^'(.*)'$/, '$1$2'));
    } else if (a.startsWith('ttl=')) {
      opts.ttl = parseTtl(a.slice(4));
    } else if (strict) {
      throw new ConfigError(`invalid parameter "${a}"`);
    } else break;
  }
  return opts;
}

/** `metric_zone name:size [expire=on|off] [discard_key=K] [ttl=TIME] MODE [params];` */
export function parseMetricZone(d: Directive): ZoneDef {
  const { name, size } = parseZoneSpec(d.args[0]);
  const opts = parseZoneOptions(d.args, 1, false);
  if (opts.next >= d.args.length) throw new ConfigError('"metric_zone" missing value mode');
  const spec = parseMetricSpec(d.args.slice(opts.next));
  const metric: ZoneMetric = { name: spec.mode.name, mode: spec.mode, params: spec.params };
  return { name, size, expire: opts.expire, discardKey: opts.discardKey, ttl: opts.ttl, complex: false, metrics: [metric], file: d.file, line: d.line };
}

/** `metric_complex_zone name:size [expire=..] [discard_key=..] [ttl=..] { SUB MODE [params]; ... }` */
export function parseMetricComplexZone(d: Directive): ZoneDef {
  const { name, size } = parseZoneSpec(d.args[0]);
  const opts = parseZoneOptions(d.args, 1, true);
  const metrics: ZoneMetric[] = [];
  for (const sub of d.block ?? []) {
    const where = (e: unknown) => (e instanceof ConfigError ? e.at(sub.file, sub.line) : e);
    if (sub.block !== undefined) throw new ConfigError(`unexpected "{"`, sub.file, sub.line);
    if (metrics.some((m) => m.name === sub.name)) throw new ConfigError(`duplicated metric name "${sub.name}"`, sub.file, sub.line);
    if (sub.args.length === 0) throw new ConfigError(`missing value mode after "${sub.name}"`, sub.file, sub.line);
    try {
      const spec = parseMetricSpec(sub.args);
      metrics.push({ name: toBytes(sub.name), mode: spec.mode, params: spec.params });
    } catch (e) {
      throw where(e);
    }
  }
  if (metrics.length === 0) throw new ConfigError(`"metric_complex_zone" has no metrics`);
  return { name, size, expire: opts.expire, discardKey: opts.discardKey, ttl: opts.ttl, complex: true, metrics, file: d.file, line: d.line };
}

/**
 * `metric NAME KEY[=VALUE] [on=request|response|end]`: the argument is split
 * at its LAST `=` as written in the config; each side is a complex value.
 */
export function parseMetric(d: Directive, zones: ReadonlyMap<string, MetricZone>, vars: VariableRegistry): MetricDirective {
  const name = d.args[0];
  const zone = zones.get(name);
  if (zone === undefined) throw new ConfigError(`unknown metric zone "${name}"`);
  const arg = d.args[1];
  const eq = arg.lastIndexOf('=');
  const keyText = eq < 0 ? arg : arg.slice(0, eq);
  const valueText = eq < 0 ? '' : arg.slice(eq + 1);
  if (keyText === '') throw new ConfigError(`empty metric "${name}" key`);
  let stage = STAGES.length - 1;
  if (d.args[2] !== undefined) {
    const p = d.args[2];
    if (!p.startsWith('on=')) throw new ConfigError(`invalid parameter "${p}"`);
    stage = STAGES.findIndex((s) => s.name === p.slice(3));
    if (stage < 0) throw new ConfigError(`unknown stage "${p.slice(3)}"`);
  }
  return {
    zone,
    key: ComplexValue.compile(keyText, vars, d.file, d.line),
    value: ComplexValue.compile(valueText, vars, d.file, d.line),
    stage,
  };
}

/** A runtime `key=value` (from `set $metric_NAME ...`): split at the last `=`. */
export function splitKeyValue(text: string): { key: string; value: string } {
  const eq = text.lastIndexOf('=');
  return eq < 0 ? { key: text, value: '' } : { key: text.slice(0, eq), value: text.slice(eq + 1) };
}
