import { ConfigError } from '../../config/errors';
import { formatNumber } from '../value';
import type { ModeRow } from './types';

function splitParam(arg: string, names: string[]): [string, string] {
  const eq = arg.indexOf('=');
  const name = eq < 0 ? '' : arg.slice(0, eq);
  if (!names.includes(name)) throw new ConfigError(`invalid parameter "${arg}"`);
  return [name, arg.slice(eq + 1)];
}

// ---------------------------------------------------------------- average exp

export interface ExpParams {
  /** The integer as configured, 0..99. */
  percent: number;
  /** percent / 100, the weight of a new value. */
  factor: number;
}

/**
 * Angie seeds the average with DBL_MAX so the first value is taken as is
 * (`prev = v` gives `v + f·(v − v) = v`).
 */
const UNSET = Number.MAX_VALUE;

function expStep(stored: number, v: number, factor: number): number {
  const prev = stored === UNSET ? v : stored;
  return prev + factor * (v - prev);
}

export const averageExpMode: ModeRow<ExpParams> = {
  name: 'average exp',
  parseParams(args) {
    let percent = 90;
    for (const arg of args) {
      const [, text] = splitParam(arg, ['factor']);
      if (!/^\d+$/.test(text) || Number(text) > 99) throw new ConfigError(`bad factor value "${text}"`);
      percent = Number(text);
    }
    return { percent, factor: percent / 100 };
  },
  slots: () => 1,
  items: () => [8],
  init(st, off) {
    st[off] = UNSET;
  },
  update(st, off, p, v) {
    st[off] = expStep(st[off], v, p.factor);
  },
  merge(into, intoOff, from, fromOff, p) {
    into[intoOff] = expStep(into[intoOff], from[fromOff], p.factor);
  },
  read: (st, off) => st[off],
  text: (st, off) => formatNumber(st[off]),
  fingerprint: (p) => `factor=${p.percent}`,
};

// --------------------------------------------------------------- average mean

export interface MeanParams {
  count: number;
  /** 0 = window=off. */
  windowMs: number;
}

const TIME_UNITS: Array<[string, number]> = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/**
 * nginx's ngx_parse_time(value, 0), as Angie reads `window=`: units in
 * decreasing order (`1m30s`, spaces allowed between parts), a trailing bare
 * number counts milliseconds, and months/years are refused at this
 * precision. Returns undefined for anything nginx rejects.
 */
export function parseMsTime(text: string): number | undefined {
  const part = /\s*(\d+)(ms|[wdhms])?/y;
  let total = 0;
  let rank = -1;
  let end = 0;
  for (let m = part.exec(text); m !== null; m = part.exec(text)) {
    const unit = m[2] ?? 'ms';
    const unitRank = m[2] === undefined ? TIME_UNITS.length : TIME_UNITS.findIndex(([u]) => u === unit);
    if (unitRank <= rank) return undefined;
    rank = unitRank;
    total += Number(m[1]) * (m[2] === undefined ? 1 : TIME_UNITS[unitRank][1]);
    end = part.lastIndex;
  }
  return end > 0 && text.slice(end).trim() === '' ? total : undefined;
}

function parseMeanParam(name: string, text: string, into: MeanParams): void {
  if (name === 'count') {
    if (!/^\d+$/.test(text)) throw new ConfigError(`bad count value "${text}"`);
    into.count = Number(text);
    if (into.count === 0) throw new ConfigError('average count must be greater than 0');
    return;
  }
  if (text === 'off') {
    into.windowMs = 0;
    return;
  }
  const ms = parseMsTime(text);
  if (ms === undefined) throw new ConfigError(`bad window value "${text}"`);
  if (ms === 0) throw new ConfigError('the average window cannot be zero');
  into.windowMs = ms;
}

/**
 * State: [updates so far, then a ring of `count` values] — each value paired
 * with its timestamp (ms) when a window is set. The mean is taken at read
 * time, so a windowed mean decays to 0 without further updates.
 */
function meanOf(st: Float64Array, off: number, p: MeanParams, nowMs: number): number {
  const filled = Math.min(st[off], p.count);
  const stride = p.windowMs > 0 ? 2 : 1;
  // Angie keeps a value while `now - window < timestamp`.
  const oldest = nowMs - p.windowMs;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < filled; i++) {
    const at = off + 1 + i * stride;
    if (stride === 2 && !(oldest < st[at + 1])) continue;
    sum += st[at];
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

function meanSlots(p: MeanParams): number {
  return 1 + p.count * (p.windowMs > 0 ? 2 : 1);
}

function meanUpdate(st: Float64Array, off: number, p: MeanParams, v: number, nowMs: number): void {
  const total = st[off];
  const at = off + 1 + (total % p.count) * (p.windowMs > 0 ? 2 : 1);
  st[at] = v;
  if (p.windowMs > 0) st[at + 1] = nowMs;
  st[off] = total + 1;
}

export const averageMeanMode: ModeRow<MeanParams> = {
  name: 'average mean',
  parseParams(args) {
    const params: MeanParams = { count: 10, windowMs: 0 };
    for (const arg of args) {
      const [name, text] = splitParam(arg, ['count', 'window']);
      parseMeanParam(name, text, params);
    }
    return params;
  },
  slots: meanSlots,
  // The update counter, then one item per cached value: Angie never splits
  // a (value, timestamp) pair across slab chunks.
  items: (p) => [8, ...new Array<number>(p.count).fill(p.windowMs > 0 ? 16 : 8)],
  init(st, off, p) {
    st.fill(0, off, off + meanSlots(p));
  },
  update: meanUpdate,
  merge(into, intoOff, from, fromOff, p, nowMs) {
    meanUpdate(into, intoOff, p, meanOf(from, fromOff, p, nowMs), nowMs);
  },
  read: meanOf,
  text: (st, off, p, nowMs) => formatNumber(meanOf(st, off, p, nowMs)),
  fingerprint: (p) => `count=${p.count} window=${p.windowMs}`,
};
