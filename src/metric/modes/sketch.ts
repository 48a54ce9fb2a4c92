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
 * Store: a window of `width` consecutive keys [base, base+width) with a u32
 * count each. When the keys seen span more than the window, the lowest keys
 * are folded into the window's lowest bin (DDSketch's collapsing-lowest
 * store): the values of largest magnitude stay within α, those folded do not.
 * The result depends only on the multiset of keys added, never on their
 * order, so merging two sketches equals one sketch fed both streams.
 *
 *   sketch  [zeros][n, base, top of x > 0][n, base, top of −x for x < 0]   doubles
 *           [positive bins … | negative bins …]                              u32
 *   n: values counted; base: key of bin 0; top: highest key counted.
 * The negative store is an eighth of the positive one: latencies, sizes and
 * durations are never negative.
 */

/** Range of values (highest / lowest) a sketch holds at full accuracy: 2^12, over three and a half decades. */
export const FULL_ACCURACY_RANGE = 4096;
/** The store of negative values has this share of the positive store's bins. */
const NEGATIVE_SHARE = 8;
/** A bin saturates here (documented): its count is a u32. */
const MAX_BIN = 0xffffffff;

/** ln of the smallest positive double: every key of a positive value is above −ln(5e-324)/ln γ. */
const LN_MIN_DOUBLE = Math.log(Number.MIN_VALUE);

export class LogMapping {
  readonly gamma: number;
  /** 1 / ln γ. */
  private readonly multiplier: number;
  private readonly lnGamma: number;
  /** Added to a bucket index so every positive value's key is ≥ 1. */
  private readonly offset: number;
  /** Bins of the positive store's window, and of the negative one's. */
  readonly bins: number;
  readonly negativeBins: number;

  constructor(readonly alpha: number) {
    this.gamma = (1 + alpha) / (1 - alpha);
    this.lnGamma = Math.log(this.gamma);
    this.multiplier = 1 / this.lnGamma;
    this.offset = Math.ceil(-LN_MIN_DOUBLE * this.multiplier) + 1;
    this.bins = Math.ceil(Math.log(FULL_ACCURACY_RANGE) * this.multiplier) + 1;
    // Even, so the two stores' u32 bins fill whole doubles.
    this.negativeBins = Math.ceil(this.bins / NEGATIVE_SHARE) + ((this.bins + Math.ceil(this.bins / NEGATIVE_SHARE)) % 2);
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

// ------------------------------------------------------------------- layout

/** Doubles of the header: [zeros][positive n, base, top][negative n, base, top]. */
const ZEROS = 0;
const POSITIVE = 1;
const NEGATIVE = 4;
const HEADER = 7;
const N = 0;
const BASE = 1;
const TOP = 2;

/**
 * The bins are u32 counts in the doubles after the header, read through a
 * Uint32Array over the record's own bytes (one per record array, kept).
 */
const u32Views = new WeakMap<Float64Array, Uint32Array>();
function u32Of(st: Float64Array): Uint32Array {
  let view = u32Views.get(st);
  if (view === undefined) u32Views.set(st, (view = new Uint32Array(st.buffer, st.byteOffset, st.length * 2)));
  return view;
}

/** One store of a sketch: its header doubles at `head`, its `width` u32 bins from `bins`. */
interface Store {
  st: Float64Array;
  u32: Uint32Array;
  head: number;
  bins: number;
  width: number;
}

function positiveStore(st: Float64Array, off: number, m: LogMapping): Store {
  return { st, u32: u32Of(st), head: off + POSITIVE, bins: 2 * (off + HEADER), width: m.bins };
}

function negativeStore(st: Float64Array, off: number, m: LogMapping): Store {
  return { st, u32: u32Of(st), head: off + NEGATIVE, bins: 2 * (off + HEADER) + m.bins, width: m.negativeBins };
}

// ---------------------------------------------------------------- one store

/**
 * Moves the window so its lowest key is `newBase`. Upwards, the bins that
 * leave the window fold into the new lowest bin; downwards, the caller has
 * checked that no counted key leaves the window.
 */
function moveWindow(s: Store, newBase: number): void {
  const { u32, bins, width } = s;
  const shift = newBase - s.st[s.head + BASE];
  if (shift > 0) {
    const folded = Math.min(shift + 1, width);
    let lowest = 0;
    for (let i = 0; i < folded; i++) lowest += u32[bins + i];
    u32.copyWithin(bins, bins + Math.min(shift, width), bins + width);
    u32.fill(0, bins + Math.max(width - shift, 1), bins + width);
    u32[bins] = Math.min(lowest, MAX_BIN);
  } else if (shift < 0) {
    u32.copyWithin(bins - shift, bins, bins + width + shift);
    u32.fill(0, bins, bins - shift);
  }
  s.st[s.head + BASE] = newBase;
}

/** Counts `count` values of key `key`. */
function storeAdd(s: Store, key: number, count: number): void {
  const { st, head, width } = s;
  if (st[head + N] === 0) {
    // First value: the window starts centred on it, room to move both ways.
    st[head + BASE] = key - Math.floor(width / 2);
    st[head + TOP] = key;
  } else if (key > st[head + TOP]) {
    st[head + TOP] = key;
  }
  const top = st[head + TOP];
  const base = st[head + BASE];
  if (key >= base + width) {
    moveWindow(s, key - width + 1);
  } else if (key < base) {
    // Below the window: move down if everything counted still fits (centring
    // what is held), else fold into the lowest bin. Once something was folded,
    // base = top − width + 1 for good, so a folded bin never moves up again.
    const newBase = top - key < width ? key - Math.floor((width - 1 - (top - key)) / 2) : top - width + 1;
    if (newBase !== base) moveWindow(s, newBase);
  }
  const at = s.bins + Math.max(key - st[head + BASE], 0);
  s.u32[at] = Math.min(s.u32[at] + count, MAX_BIN);
  st[head + N] += count;
}

/** Adds every count of one store into another (highest keys first, so the window moves once). */
function storeMerge(into: Store, from: Store): void {
  if (from.st[from.head + N] === 0) return;
  const base = from.st[from.head + BASE];
  for (let i = from.width - 1; i >= 0; i--) {
    const count = from.u32[from.bins + i];
    if (count > 0) storeAdd(into, base + i, count);
  }
}

/** The key holding the value of 1-based `rank` in key order (ascending, or descending). */
function storeKeyAt(s: Store, rank: number, descending: boolean): number {
  let seen = 0;
  for (let j = 0; j < s.width; j++) {
    const i = descending ? s.width - 1 - j : j;
    seen += s.u32[s.bins + i];
    if (seen >= rank) return s.st[s.head + BASE] + i;
  }
  // Only a saturated bin leaves ranks uncounted: they are the extreme ones.
  return descending ? s.st[s.head + BASE] : s.st[s.head + TOP];
}

// --------------------------------------------------------------- the sketch

export function sketchSlots(m: LogMapping): number {
  return HEADER + (m.bins + m.negativeBins) / 2;
}

export function sketchReset(st: Float64Array, off: number, m: LogMapping): void {
  st.fill(0, off, off + sketchSlots(m));
}

/** Values counted by the sketch at `off`. */
export function sketchCount(st: Float64Array, off: number): number {
  return st[off + ZEROS] + st[off + POSITIVE + N] + st[off + NEGATIVE + N];
}

/** Counts one finite value. */
export function sketchAdd(st: Float64Array, off: number, m: LogMapping, v: number): void {
  if (v > 0) storeAdd(positiveStore(st, off, m), m.key(v), 1);
  else if (v < 0) storeAdd(negativeStore(st, off, m), m.key(-v), 1);
  else st[off + ZEROS]++;
}

/** Adds the counts of the sketch at `fromOff` into the one at `intoOff`. */
export function sketchMerge(into: Float64Array, intoOff: number, from: Float64Array, fromOff: number, m: LogMapping): void {
  into[intoOff + ZEROS] += from[fromOff + ZEROS];
  storeMerge(positiveStore(into, intoOff, m), positiveStore(from, fromOff, m));
  storeMerge(negativeStore(into, intoOff, m), negativeStore(from, fromOff, m));
}

/** The 1-based nearest rank of q among n values, ⌈q·n⌉ and at least 1 (q·n's rounding error forgiven). */
export function nearestRank(q: number, n: number): number {
  return Math.max(1, Math.ceil(q * n * (1 - 1e-12)));
}

/** The estimate of the value of nearest rank ⌈q·n⌉, or null with nothing counted. */
export function sketchQuantile(st: Float64Array, off: number, m: LogMapping, q: number): number | null {
  const n = sketchCount(st, off);
  if (n === 0) return null;
  const rank = nearestRank(q, n);
  const negatives = st[off + NEGATIVE + N];
  const zeros = st[off + ZEROS];
  // Value order: negatives by descending magnitude, zeros, positives.
  if (rank <= negatives) return -m.value(storeKeyAt(negativeStore(st, off, m), rank, true));
  if (rank <= negatives + zeros) return 0;
  return m.value(storeKeyAt(positiveStore(st, off, m), rank - negatives - zeros, false));
}
