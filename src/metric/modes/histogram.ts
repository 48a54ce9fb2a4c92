import { ConfigError } from '../../config/errors';
import { isOutOfRange, scanNumber } from '../strtod';
import type { MetricValue } from '../value';
import type { ModeRow } from './types';

export interface HistogramParams {
  /** Bucket bounds, ascending. */
  bounds: number[];
  /** Each bound spelled as in the config (`inf`, `+Inf`, `0.10`), same order. */
  names: string[];
}

/** A bound must be a whole strtod number (Angie: endptr at the end, no ERANGE). */
function parseBound(text: string): number {
  const scan = scanNumber(text);
  // NaN is refused too: it would never count anything and cannot be sorted.
  if (scan.end === 0 || scan.end !== text.length || isOutOfRange(text, scan) || Number.isNaN(scan.value)) {
    throw new ConfigError(`bad bucket value "${text}"`);
  }
  return scan.value;
}

function parseBuckets(args: string[]): HistogramParams {
  const buckets: Array<{ bound: number; name: string }> = [];
  for (const name of args) {
    const bound = parseBound(name);
    if (buckets.some((b) => b.bound === bound)) throw new ConfigError(`duplicated bucket "${name}"`);
    buckets.push({ bound, name });
  }
  if (buckets.length === 0) throw new ConfigError('empty histogram');
  buckets.sort((a, b) => a.bound - b.bound);
  return { bounds: buckets.map((b) => b.bound), names: buckets.map((b) => b.name) };
}

/** Cumulative buckets (Prometheus `le`): one count per bound. */
export const histogramMode: ModeRow<HistogramParams> = {
  name: 'histogram',
  parseParams: parseBuckets,
  slots: (p) => p.bounds.length,
  items: (p) => p.bounds.map(() => 8),
  init(st, off, p) {
    st.fill(0, off, off + p.bounds.length);
  },
  update(st, off, p, v) {
    for (let i = 0; i < p.bounds.length; i++) {
      if (p.bounds[i] >= v) st[off + i]++;
    }
  },
  merge(into, intoOff, from, fromOff, p) {
    for (let i = 0; i < p.bounds.length; i++) into[intoOff + i] += from[fromOff + i];
  },
  read(st, off, p) {
    const buckets = new Map<string, MetricValue>();
    p.names.forEach((name, i) => buckets.set(name, st[off + i]));
    return buckets;
  },
  text(st, off, p) {
    return Array.from(st.subarray(off, off + p.bounds.length), String).join(' ');
  },
  fingerprint: (p) => p.bounds.join(' '),
};
