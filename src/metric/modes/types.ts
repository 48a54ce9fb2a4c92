import type { MetricValue } from '../value';

export type ModeName =
  | 'count'
  | 'gauge'
  | 'last'
  | 'min'
  | 'max'
  | 'average exp'
  | 'average mean'
  | 'histogram'
  | 'quantile';

/**
 * One row of the mode table. State lives in a Float64Array at `off`, so a
 * key's record is a flat run of doubles with no per-mode branches in the
 * zone or store code. Methods (not function properties) keep rows with
 * their own parameter types assignable to `ModeRow`.
 */
export interface ModeRow<P = unknown> {
  name: ModeName;
  /** Parameters after the mode name; throws ConfigError with nginx's phrase. */
  parseParams(args: string[]): P;
  /** f64 slots of state per key. */
  slots(p: P): number;
  /** The byte items Angie lays out for this metric, in order (see slab.ts). */
  items(p: P): number[];
  init(st: Float64Array, off: number, p: P): void;
  update(st: Float64Array, off: number, p: P, v: number, nowMs: number): void;
  /** Fold an evicted key's state into the discard key's (expire=on). */
  merge(into: Float64Array, intoOff: number, from: Float64Array, fromOff: number, p: P, nowMs: number): void;
  /** The API value. */
  read(st: Float64Array, off: number, p: P, nowMs: number): MetricValue;
  /** What `$metric_NAME_value` shows. */
  text(st: Float64Array, off: number, p: P, nowMs: number): string;
  /** Canonical text of the parameters: a change of it empties the zone. */
  fingerprint(p: P): string;
}

/** Angie's per-metric data_size in bytes: the sum of its layout items. */
export function dataBytes<P>(mode: ModeRow<P>, p: P): number {
  return mode.items(p).reduce((sum, size) => sum + size, 0);
}
