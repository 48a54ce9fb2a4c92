/**
 * A DDSketch-style quantile sketch kept in a fixed run of doubles, updated
 * in place (no objects, no allocation per value).
 *
 * Mapping (DDSketch's logarithmic mapping): with γ = (1+α)/(1−α), a value
 * x > 0 falls in bucket i = ⌈log_γ x⌉, i.e. γ^(i−1) < x ≤ γ^i, and the
 * bucket reads back as 2γ^i/(γ+1), within α·x of every x it holds. Buckets
 * are numbered by a key, i + OFFSET, which is ≥ 1 for every positive double.
 * As in DDSketch, zero has its own counter and a negative x is counted by
 * its magnitude in a second store.
 *
 * Store: a window of `bins` consecutive keys [base, base+bins). When the keys
 * seen span more than the window, the lowest keys are folded into the
 * window's lowest bin (DDSketch's collapsing-lowest store): the values of
 * largest magnitude stay within α, those folded do not. The result depends
 * only on the multiset of keys added, never on their order, so merging two
 * sketches equals one sketch fed both streams.
 *
 *   store   [n][base][top][bin 0 … bin bins−1]
 *           n: values counted; base: key of bin 0; top: highest key counted
 *   sketch  [zeros][store of x > 0][store of −x for x < 0]
 */

/** Range of values (highest / lowest) a sketch holds at full accuracy: five decades. */
export const FULL_ACCURACY_RANGE = 1e5;

const N = 0;
const BASE = 1;
const TOP = 2;
const BINS = 3;

/** ln of the smallest positive double: every key of a positive value is above −ln(5e-324)/ln γ. */
const LN_MIN_DOUBLE = Math.log(Number.MIN_VALUE);

export class LogMapping {
  readonly gamma: number;
  /** 1 / ln γ. */
  private readonly multiplier: number;
  private readonly lnGamma: number;
  /** Added to a bucket index so every positive value's key is ≥ 1. */
  private readonly offset: number;
  /** Bins in a store's window. */
  readonly bins: number;

  constructor(readonly alpha: number) {
    this.gamma = (1 + alpha) / (1 - alpha);
    this.lnGamma = Math.log(this.gamma);
    this.multiplier = 1 / this.lnGamma;
    this.offset = Math.ceil(-LN_MIN_DOUBLE * this.multiplier) + 1;
    this.bins = Math.ceil(Math.log(FULL_ACCURACY_RANGE) * this.multiplier) + 1;
  }

  /** The key of a finite x > 0. */
  key(x: number): number {
    return Math.ceil(Math.log(x) * this.multiplier) + this.offset;
  }

  /** The value a key reads back as (clamped to the finite doubles). */
  value(key: number): number {
    return Math.min(Math.exp((key - this.offset) * this.lnGamma) * (2 / (1 + this.gamma)), Number.MAX_VALUE);
  }
}

// ---------------------------------------------------------------- one store

const storeSlots = (m: LogMapping): number => BINS + m.bins;

/**
 * Moves the window so its lowest key is `newBase`. Upwards, the bins that
 * leave the window fold into the new lowest bin; downwards, the caller has
 * checked that no counted key leaves the window.
 */
function moveWindow(st: Float64Array, off: number, m: LogMapping, newBase: number): void {
  const bins = off + BINS;
  const shift = newBase - st[off + BASE];
  if (shift > 0) {
    const folded = Math.min(shift + 1, m.bins);
    let lowest = 0;
    for (let i = 0; i < folded; i++) lowest += st[bins + i];
    st.copyWithin(bins, bins + Math.min(shift, m.bins), bins + m.bins);
    st.fill(0, bins + Math.max(m.bins - shift, 1), bins + m.bins);
    st[bins] = lowest;
  } else if (shift < 0) {
    st.copyWithin(bins - shift, bins, bins + m.bins + shift);
    st.fill(0, bins, bins - shift);
  }
  st[off + BASE] = newBase;
}

/** Counts `count` values of key `key` in the store at `off`. */
function storeAdd(st: Float64Array, off: number, m: LogMapping, key: number, count: number): void {
  const width = m.bins;
  if (st[off + N] === 0) {
    // First value: the window starts centred on it, room to move both ways.
    st[off + BASE] = key - Math.floor(width / 2);
    st[off + TOP] = key;
  } else if (key > st[off + TOP]) {
    st[off + TOP] = key;
  }
  const top = st[off + TOP];
  const base = st[off + BASE];
  if (key >= base + width) {
    moveWindow(st, off, m, key - width + 1);
  } else if (key < base) {
    // Below the window: move down if everything counted still fits (centring
    // what is held), else fold into the lowest bin. Once something was folded,
    // base = top − width + 1 for good, so a folded bin never moves up again.
    const newBase = top - key < width ? key - Math.floor((width - 1 - (top - key)) / 2) : top - width + 1;
    if (newBase !== base) moveWindow(st, off, m, newBase);
  }
  st[off + BINS + Math.max(key - st[off + BASE], 0)] += count;
  st[off + N] += count;
}

/** Adds every count of one store into another (highest keys first, so the window moves once). */
function storeMerge(into: Float64Array, intoOff: number, from: Float64Array, fromOff: number, m: LogMapping): void {
  if (from[fromOff + N] === 0) return;
  const base = from[fromOff + BASE];
  for (let i = m.bins - 1; i >= 0; i--) {
    const count = from[fromOff + BINS + i];
    if (count > 0) storeAdd(into, intoOff, m, base + i, count);
  }
}

/** The key holding the value of 1-based `rank` in key order (ascending, or descending). */
function storeKeyAt(st: Float64Array, off: number, m: LogMapping, rank: number, descending: boolean): number {
  let seen = 0;
  for (let j = 0; j < m.bins; j++) {
    const i = descending ? m.bins - 1 - j : j;
    seen += st[off + BINS + i];
    if (seen >= rank) return st[off + BASE] + i;
  }
  return st[off + TOP];
}

// --------------------------------------------------------------- the sketch

const ZEROS = 0;
const POSITIVE = 1;
const negative = (m: LogMapping): number => 1 + storeSlots(m);

export function sketchSlots(m: LogMapping): number {
  return 1 + 2 * storeSlots(m);
}

export function sketchReset(st: Float64Array, off: number, m: LogMapping): void {
  st.fill(0, off, off + sketchSlots(m));
}

/** Values counted by the sketch at `off`. */
export function sketchCount(st: Float64Array, off: number, m: LogMapping): number {
  return st[off + ZEROS] + st[off + POSITIVE + N] + st[off + negative(m) + N];
}

/** Counts one finite value. */
export function sketchAdd(st: Float64Array, off: number, m: LogMapping, v: number): void {
  if (v > 0) storeAdd(st, off + POSITIVE, m, m.key(v), 1);
  else if (v < 0) storeAdd(st, off + negative(m), m, m.key(-v), 1);
  else st[off + ZEROS]++;
}

/** Adds the counts of the sketch at `fromOff` into the one at `intoOff`. */
export function sketchMerge(into: Float64Array, intoOff: number, from: Float64Array, fromOff: number, m: LogMapping): void {
  into[intoOff + ZEROS] += from[fromOff + ZEROS];
  storeMerge(into, intoOff + POSITIVE, from, fromOff + POSITIVE, m);
  storeMerge(into, intoOff + negative(m), from, fromOff + negative(m), m);
}

/** The 1-based nearest rank of q among n values, ⌈q·n⌉ and at least 1 (q·n's rounding error forgiven). */
export function nearestRank(q: number, n: number): number {
  return Math.max(1, Math.ceil(q * n * (1 - 1e-12)));
}

/** The estimate of the value of nearest rank ⌈q·n⌉, or null with nothing counted. */
export function sketchQuantile(st: Float64Array, off: number, m: LogMapping, q: number): number | null {
  const n = sketchCount(st, off, m);
  if (n === 0) return null;
  const rank = nearestRank(q, n);
  const negatives = st[off + negative(m) + N];
  // Value order: negatives by descending magnitude, zeros, positives.
  if (rank <= negatives) return -m.value(storeKeyAt(st, off + negative(m), m, rank, true));
  if (rank <= negatives + st[off + ZEROS]) return 0;
  return m.value(storeKeyAt(st, off + POSITIVE, m, rank - negatives - st[off + ZEROS], false));
}
