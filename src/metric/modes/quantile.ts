import { ConfigError } from '../../config/errors';
import { scanNumber } from '../strtod';
import { formatNumber, type MetricValue } from '../value';
import { parseMsTime } from './average';
import { LogMapping, sketchAdd, sketchCount, sketchMerge, sketchQuantile, sketchReset, sketchSlots } from './sketch';
import type { ModeRow } from './types';

export interface QuantileParams {
  /** The quantiles, in declaration order, and as written (the API's member names). */
  quantiles: number[];
  names: string[];
  mapping: LogMapping;
  /** 0 = window=off. */
  windowMs: number;
}

const DEFAULT_ACCURACY = 0.01;
const MIN_ACCURACY = 0.001;
const MAX_ACCURACY = 0.1;
/** window=TIME keeps this many slices of TIME/SLICES each: the window's resolution. */
export const WINDOW_SLICES = 6;

/** A whole strtod number, finite, or undefined. */
function wholeNumber(text: string): number | undefined {
  const scan = scanNumber(text);
  return scan.end === text.length && text !== '' && Number.isFinite(scan.value) ? scan.value : undefined;
}

function parseQuantile(text: string, into: QuantileParams): void {
  const q = wholeNumber(text);
  if (q === undefined || !(q > 0 && q < 1)) throw new ConfigError(`invalid quantile "${text}"`);
  if (into.quantiles.includes(q)) throw new ConfigError(`duplicated quantile "${text}"`);
  into.quantiles.push(q);
  into.names.push(text);
}

function parseAccuracy(text: string): LogMapping {
  const alpha = wholeNumber(text);
  if (alpha === undefined || !(alpha >= MIN_ACCURACY && alpha <= MAX_ACCURACY)) {
    throw new ConfigError(`invalid accuracy "${text}", expected ${MIN_ACCURACY} to ${MAX_ACCURACY}`);
  }
  return new LogMapping(alpha);
}

function parseWindow(text: string): number {
  if (text === 'off') return 0;
  const ms = parseMsTime(text);
  if (ms === undefined) throw new ConfigError(`bad window value "${text}"`);
  if (ms === 0) throw new ConfigError('the quantile window cannot be zero');
  return ms;
}

function parseQuantileParams(args: string[]): QuantileParams {
  const params: QuantileParams = { quantiles: [], names: [], mapping: new LogMapping(DEFAULT_ACCURACY), windowMs: 0 };
  for (const arg of args) {
    if (arg.startsWith('accuracy=')) params.mapping = parseAccuracy(arg.slice(9));
    else if (arg.startsWith('window=')) params.windowMs = parseWindow(arg.slice(7));
    else if (arg.includes('=')) throw new ConfigError(`invalid parameter "${arg}"`);
    else parseQuantile(arg, params);
  }
  if (params.quantiles.length === 0) throw new ConfigError('no quantiles in "quantile"');
  return params;
}

/**
 * window=TIME: a ring of slices, each [epoch][sketch], epoch = ⌊now / (TIME/6)⌋.
 * A value goes to its epoch's slice (emptied first if it held an older epoch);
 * a read merges the slices of the last 6 epochs, so it counts every value of
 * the last 5/6·TIME and none older than TIME.
 */
const sliceSlots = (p: QuantileParams): number => 1 + sketchSlots(p.mapping);
const sliceMs = (p: QuantileParams): number => p.windowMs / WINDOW_SLICES;
const epochOf = (p: QuantileParams, nowMs: number): number => Math.floor(nowMs / sliceMs(p));
const isLive = (p: QuantileParams, epoch: number, nowMs: number): boolean => epoch > epochOf(p, nowMs) - WINDOW_SLICES;
/** Offset of the slice that holds `epoch`. */
const sliceAt = (p: QuantileParams, off: number, epoch: number): number => off + (epoch % WINDOW_SLICES) * sliceSlots(p);

function quantileSlots(p: QuantileParams): number {
  return p.windowMs === 0 ? sketchSlots(p.mapping) : WINDOW_SLICES * sliceSlots(p);
}

function quantileInit(st: Float64Array, off: number, p: QuantileParams): void {
  if (p.windowMs === 0) return sketchReset(st, off, p.mapping);
  for (let i = 0; i < WINDOW_SLICES; i++) {
    const slice = off + i * sliceSlots(p);
    st[slice] = -1;
    sketchReset(st, slice + 1, p.mapping);
  }
}

/** The slice for `epoch`, emptied if it still holds an older epoch's values. */
function claimSlice(st: Float64Array, off: number, p: QuantileParams, epoch: number): number {
  const slice = sliceAt(p, off, epoch);
  if (st[slice] !== epoch) {
    st[slice] = epoch;
    sketchReset(st, slice + 1, p.mapping);
  }
  return slice + 1;
}

function quantileUpdate(st: Float64Array, off: number, p: QuantileParams, v: number, nowMs: number): void {
  // NaN and ±inf (1e999 reads as inf) have no bucket: they are not counted.
  if (!Number.isFinite(v)) return;
  const sketch = p.windowMs === 0 ? off : claimSlice(st, off, p, epochOf(p, nowMs));
  sketchAdd(st, sketch, p.mapping, v);
}

/** Exact merge: bucket counts add, slice by slice for a window (expired slices are dropped). */
function quantileMerge(into: Float64Array, intoOff: number, from: Float64Array, fromOff: number, p: QuantileParams, nowMs: number): void {
  if (p.windowMs === 0) return sketchMerge(into, intoOff, from, fromOff, p.mapping);
  for (let i = 0; i < WINDOW_SLICES; i++) {
    const slice = fromOff + i * sliceSlots(p);
    const epoch = from[slice];
    if (!isLive(p, epoch, nowMs) || sketchCount(from, slice + 1) === 0) continue;
    const target = sliceAt(p, intoOff, epoch);
    if (into[target] > epoch) continue;
    sketchMerge(into, claimSlice(into, intoOff, p, epoch), from, slice + 1, p.mapping);
  }
}

/** The sketch a read answers from: the record's own, or the live slices merged into a scratch one. */
function readableSketch(st: Float64Array, off: number, p: QuantileParams, nowMs: number): [Float64Array, number] {
  if (p.windowMs === 0) return [st, off];
  const merged = new Float64Array(sketchSlots(p.mapping));
  for (let i = 0; i < WINDOW_SLICES; i++) {
    const slice = off + i * sliceSlots(p);
    if (isLive(p, st[slice], nowMs)) sketchMerge(merged, 0, st, slice + 1, p.mapping);
  }
  return [merged, 0];
}

function quantileValues(st: Float64Array, off: number, p: QuantileParams, nowMs: number): Array<number | null> {
  const [sketch, at] = readableSketch(st, off, p, nowMs);
  return p.quantiles.map((q) => sketchQuantile(sketch, at, p.mapping, q));
}

/**
 * Percentiles per key: `quantile Q... [accuracy=α] [window=off|TIME]`. Reads
 * as `{"Q": value|null, ...}` in declaration order; `$metric_NAME_value`
 * joins the values with spaces (`nan` before any value).
 */
export const quantileMode: ModeRow<QuantileParams> = {
  name: 'quantile',
  parseParams: parseQuantileParams,
  slots: quantileSlots,
  // Every slot is one 8-byte item: a record is a run of doubles like any other mode's.
  items: (p) => new Array<number>(quantileSlots(p)).fill(8),
  init: quantileInit,
  update: quantileUpdate,
  merge: quantileMerge,
  read(st, off, p, nowMs) {
    const values = quantileValues(st, off, p, nowMs);
    return new Map<string, MetricValue>(p.names.map((name, i) => [name, values[i]]));
  },
  text: (st, off, p, nowMs) => quantileValues(st, off, p, nowMs).map((v) => formatNumber(v ?? NaN)).join(' '),
  fingerprint: (p) => `${p.quantiles.join(' ')} accuracy=${p.mapping.alpha} window=${p.windowMs}`,
};
