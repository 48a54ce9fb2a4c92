import { createHash } from 'node:crypto';
import { ConfigError } from '../config/errors';
import type { ModeRow } from './modes';
import { NodeLayout, slabChunks } from '../store/slab';
import { MAX_METRIC_BYTES } from './strtod';
import type { MetricValue } from './value';

export interface ZoneMetric {
  /** Sub-metric name; for a single-metric zone, the mode name (as Angie does). */
  name: string;
  mode: ModeRow;
  params: unknown;
}

/** A `metric_zone` / `metric_complex_zone` as configured. */
export interface ZoneDef {
  name: string;
  /** Bytes, as written in `name:size`. */
  size: number;
  expire: boolean;
  discardKey?: string;
  /** `ttl=TIME` in ms: a key not updated for this long is dropped (beyond Angie); absent: never. */
  ttl?: number;
  complex: boolean;
  metrics: ZoneMetric[];
  file: string;
  line: number;
}

export const MIN_ZONE_SIZE = 32768;

/** The checks Angie makes on a whole zone definition; throws ConfigError. */
export function validateZoneDef(def: ZoneDef): void {
  if (def.size < MIN_ZONE_SIZE) {
    throw new ConfigError(`zone "${def.name}" is too small, at least ${MIN_ZONE_SIZE} bytes expected`);
  }
  const seen = new Set<string>();
  for (const metric of def.metrics) {
    if (seen.has(metric.name)) throw new ConfigError(`duplicated metric name "${metric.name}"`);
    seen.add(metric.name);
  }
}

/**
 * A key's whole state is read and written on every update, and its slab
 * layout is computed item by item at load: beyond this a key is not a metric.
 */
const MAX_KEY_STATE_BYTES = 16 * 1024 * 1024;

/**
 * Angie would accept `average mean count=99999999` and then discard every
 * update (no key fits); here the load says so, before anything is sized by
 * `count` (which would hang the load or exhaust memory).
 */
function checkKeyFits(def: ZoneDef, slots: number): void {
  const bytes = slots * 8;
  if (bytes > def.size || bytes > MAX_KEY_STATE_BYTES) {
    throw new ConfigError(`zone "${def.name}" cannot hold one key of ${bytes} bytes`);
  }
}

/**
 * What decides whether stored data survives a reload: the size and every
 * sub-metric's name, mode and parameters. expire and discard_key are left
 * out on purpose — changing them keeps the data, as in Angie — and so is
 * ttl: a different ttl applies to the same data.
 */
/** Bumped when the stored records change layout (2: the meta record counts slab allocations), so older data starts afresh instead of failing to decode. */
const RECORD_LAYOUT = 2;

export function zoneFingerprint(def: ZoneDef): string {
  const shape = [
    RECORD_LAYOUT,
    def.size,
    def.complex,
    def.metrics.map((m) => [m.name, m.mode.name, m.mode.fingerprint(m.params)]),
  ];
  return createHash('sha1').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

/** The API spells a key cut at 255 bytes with `...` appended. */
export function apiKeyName(key: string): string {
  return key.length === MAX_METRIC_BYTES ? `${key}...` : key;
}

/** The stored key an API path segment names (`<255 bytes>...` → the 255 bytes). */
export function keyFromApiName(name: string): string {
  return name.length === MAX_METRIC_BYTES + 3 && name.endsWith('...') ? name.slice(0, MAX_METRIC_BYTES) : name;
}

/** A key cut to the 255 bytes Angie keeps of it. */
export function cutKey(key: string): string {
  return key.length > MAX_METRIC_BYTES ? key.slice(0, MAX_METRIC_BYTES) : key;
}

/**
 * The one key rule of a zone, Angie's: the key an update really goes to, or
 * undefined when Angie ignores it: empty, or the reserved discard key
 * (compared before truncation, as Angie does). Longer keys are cut to 255
 * bytes. The store's writer, the `$metric_` setters and the reader (a key
 * it could not have stored reads as not found) all go by it.
 */
export function acceptKey(def: Pick<ZoneDef, 'discardKey'>, key: string): string | undefined {
  if (key === '' || key === def.discardKey) return undefined;
  return cutKey(key);
}

/**
 * A zone definition compiled for use: where each sub-metric's state sits in
 * a key's run of doubles, and how many slab chunks its nodes take. All
 * per-mode behaviour goes through the mode table; nothing here branches on
 * a mode.
 */
export class Zone {
  readonly fingerprint: string;
  /** f64 slots of one key's state (all sub-metrics). */
  readonly slots: number;
  /** Chunks the zone holds in all, and before its first key. */
  readonly totalChunks: number;
  readonly baseChunks: number;
  private readonly offsets: number[];
  private readonly layout: NodeLayout;

  constructor(readonly def: ZoneDef) {
    validateZoneDef(def);
    this.fingerprint = zoneFingerprint(def);
    this.offsets = [];
    let slots = 0;
    for (const m of def.metrics) {
      this.offsets.push(slots);
      slots += m.mode.slots(m.params);
    }
    this.slots = slots;
    checkKeyFits(def, slots);
    this.layout = new NodeLayout(def.metrics.flatMap((m) => m.mode.items(m.params)));
    this.totalChunks = slabChunks(def.size);
    this.baseChunks = this.layout.baseChunks(this.hasDiscardKey);
  }

  /** Whether the store keeps keys in update order (for eviction or for ttl). */
  get tracksOrder(): boolean {
    return this.def.expire || this.ttl > 0;
  }

  /** ms after its last update a key is gone; 0: never. */
  get ttl(): number {
    return this.def.ttl ?? 0;
  }

  get hasDiscardKey(): boolean {
    return this.def.discardKey !== undefined && this.def.discardKey !== '';
  }

  /** The key an update really goes to (acceptKey). */
  acceptKey(key: string): string | undefined {
    return acceptKey(this.def, key);
  }

  keyNodeChunks(keyBytes: number): number {
    return this.layout.keyNodeChunks(keyBytes);
  }

  init(st: Float64Array, off: number): void {
    this.def.metrics.forEach((m, i) => m.mode.init(st, off + this.offsets[i], m.params));
  }

  update(st: Float64Array, off: number, v: number, nowMs: number): void {
    const metrics = this.def.metrics;
    for (let i = 0; i < metrics.length; i++) {
      metrics[i].mode.update(st, off + this.offsets[i], metrics[i].params, v, nowMs);
    }
  }

  merge(into: Float64Array, intoOff: number, from: Float64Array, fromOff: number, nowMs: number): void {
    this.def.metrics.forEach((m, i) => {
      m.mode.merge(into, intoOff + this.offsets[i], from, fromOff + this.offsets[i], m.params, nowMs);
    });
  }

  /** The API value: the metric's own value, or for a complex zone `{SUB: value}`. */
  read(st: Float64Array, off: number, nowMs: number): MetricValue {
    if (!this.def.complex) return this.readMetric(0, st, off, nowMs);
    const value = new Map<string, MetricValue>();
    this.def.metrics.forEach((m, i) => value.set(m.name, this.readMetric(i, st, off, nowMs)));
    return value;
  }

  /** `$metric_NAME_value`: each sub-metric's text, joined with ", ". */
  text(st: Float64Array, off: number, nowMs: number): string {
    return this.def.metrics.map((_m, i) => this.metricText(i, st, off, nowMs)).join(', ');
  }

  /** `$metric_NAME_value_SUB`, or undefined for an unknown sub-metric. */
  subText(st: Float64Array, off: number, sub: string, nowMs: number): string | undefined {
    const i = this.def.metrics.findIndex((m) => m.name === sub);
    return i < 0 ? undefined : this.metricText(i, st, off, nowMs);
  }

  private readMetric(i: number, st: Float64Array, off: number, nowMs: number): MetricValue {
    const m = this.def.metrics[i];
    return m.mode.read(st, off + this.offsets[i], m.params, nowMs);
  }

  private metricText(i: number, st: Float64Array, off: number, nowMs: number): string {
    const m = this.def.metrics[i];
    return m.mode.text(st, off + this.offsets[i], m.params, nowMs);
  }
}
