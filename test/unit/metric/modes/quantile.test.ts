import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../../../src/config/errors';
import { dataBytes, parseMetricSpec } from '../../../../src/metric/modes';
import { quantileMode, WINDOW_SLICES, type QuantileParams } from '../../../../src/metric/modes/quantile';
import { FULL_ACCURACY_RANGE, nearestRank } from '../../../../src/metric/modes/sketch';
import { parseMetricValue } from '../../../../src/metric/strtod';
import { Zone } from '../../../../src/metric/zone';
import { complexZone, inlineZone, metricValueToJson } from '../helpers';

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const normal = (u: () => number) => () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());

const DISTRIBUTIONS: Record<string, (u: () => number) => () => number> = {
  'uniform 0..2': (u) => () => 2 * u(),
  'lognormal (latency, median 50 ms, σ=1)': (u) => {
    const z = normal(u);
    return () => 0.05 * Math.exp(z());
  },
  'Pareto (heavy tail, shape 1.16, from 1 ms)': (u) => () => 0.001 / Math.pow(1 - u(), 1 / 1.16),
};

const QS = ['0.001', '0.01', '0.1', '0.25', '0.5', '0.75', '0.9', '0.95', '0.99', '0.999', '0.9999'];

/** One key of a fresh zone with the given mode arguments. */
function key(modeArgs: string[]): { zone: Zone; st: Float64Array; params: QuantileParams } {
  const zone = new Zone(inlineZone('z', 64 << 20, modeArgs));
  const st = new Float64Array(zone.slots);
  zone.init(st, 0);
  return { zone, st, params: zone.def.metrics[0].params as QuantileParams };
}

const readMap = (zone: Zone, st: Float64Array, nowMs = 0) => zone.read(st, 0, nowMs) as ReadonlyMap<string, number | null>;

/** The guarantee: `shown` within α·|exact| of `exact` (plus floating-point slack). */
function expectWithin(shown: number | null | undefined, exact: number, alpha = 0.01): void {
  expect(shown, `${shown} vs ${exact}`).not.toBeNull();
  expect(Math.abs(shown! - exact), `${shown} vs ${exact}`).toBeLessThanOrEqual(alpha * Math.abs(exact) * (1 + 1e-9));
}

describe('quantile: accuracy against exact nearest-rank quantiles, 10^6 values', () => {
  for (const alpha of ['0.01', '0.001']) {
    for (const [name, make] of Object.entries(DISTRIBUTIONS)) {
      it(`${name}, accuracy=${alpha}`, () => {
        const next = make(rng(13));
        const values = new Float64Array(1_000_000);
        const { zone, st } = key(['quantile', ...QS, `accuracy=${alpha}`]);
        for (let i = 0; i < values.length; i++) {
          values[i] = next();
          zone.update(st, 0, values[i], 0);
        }
        const sorted = values.slice().sort();
        const read = readMap(zone, st);
        const fullAccuracyFloor = sorted[sorted.length - 1] / FULL_ACCURACY_RANGE;
        for (const q of QS) {
          const exact = sorted[nearestRank(Number(q), sorted.length) - 1];
          if (Number(q) >= 0.99) expect(exact, `q=${q} in the full-accuracy range`).toBeGreaterThan(fullAccuracyFloor);
          // The guarantee above the collapsed range; below it, never less than the truth.
          if (exact > fullAccuracyFloor) expectWithin(read.get(q), exact, Number(alpha));
          else expect(read.get(q)!).toBeGreaterThanOrEqual(exact * (1 - Number(alpha)));
        }
      });
    }
  }

  it('zero and negative values: the guarantee holds for |x|, zero reads exactly 0', () => {
    const { zone, st } = key(['quantile', '0.1', '0.3', '0.5', '0.7', '0.9']);
    // The negative store is an eighth of the positive one: these negatives span less than it holds.
    const values = [-300, -200, -150, -120, 0, 0, 0, 0.25, 7, 400];
    for (const v of values) zone.update(st, 0, v, 0);
    const read = readMap(zone, st);
    // Nearest ranks 1, 3, 5, 7, 9 of the sorted values.
    [-300, -150, 0, 0, 7].forEach((exact, i) => expectWithin(read.get(['0.1', '0.3', '0.5', '0.7', '0.9'][i]), exact));
  });
});

describe('quantile: merges are exact', () => {
  it('discard-key merge of two streams equals one sketch fed both (even when collapsing)', () => {
    for (const spread of [10, 1e9]) {
      const u = rng(7);
      const a = key(['quantile', ...QS]);
      const b = key(['quantile', ...QS]);
      const both = key(['quantile', ...QS]);
      for (let i = 0; i < 100_000; i++) {
        const v = Math.pow(spread, u()) * (u() < 0.1 ? -1 : 1);
        (i % 3 === 0 ? a : b).zone.update((i % 3 === 0 ? a : b).st, 0, v, 0);
        both.zone.update(both.st, 0, v, 0);
      }
      a.zone.merge(a.st, 0, b.st, 0, 0);
      expect(metricValueToJson(a.zone.read(a.st, 0, 0))).toBe(metricValueToJson(both.zone.read(both.st, 0, 0)));
    }
  });

  it('window: merging drops expired slices and adds live ones slice by slice', () => {
    const into = key(['quantile', '0.5', 'window=60s']);
    const from = key(['quantile', '0.5', 'window=60s']);
    const t0 = 1_700_000_000_000;
    from.zone.update(from.st, 0, 1000, t0);
    from.zone.update(from.st, 0, 1000, t0);
    from.zone.update(from.st, 0, 1000, t0);
    into.zone.update(into.st, 0, 1, t0 + 50_000);
    into.zone.update(into.st, 0, 2, t0 + 50_000);
    into.zone.merge(into.st, 0, from.st, 0, t0 + 50_000);
    expectWithin(readMap(into.zone, into.st, t0 + 50_000).get('0.5'), 1000);
    // Later, the t0 values have left the window: the merge of them is gone too.
    into.zone.merge(into.st, 0, from.st, 0, t0 + 75_000);
    expectWithin(readMap(into.zone, into.st, t0 + 75_000).get('0.5'), 1);
  });
});

describe('quantile: window=TIME forgets', () => {
  it('counts every value of the last 5/6 of the window, none older than the window', () => {
    const { zone, st } = key(['quantile', '0.5', '0.99', 'window=60s']);
    const t0 = 1_700_000_000_000 - (1_700_000_000_000 % 10_000);
    for (let i = 0; i < 100; i++) zone.update(st, 0, 5, t0);
    for (let i = 0; i < 100; i++) zone.update(st, 0, 500, t0 + 30_000);
    const early = readMap(zone, st, t0 + 49_999);
    expectWithin(early.get('0.5'), 5);
    expectWithin(early.get('0.99'), 500);
    // 60 s after t0 the first slice is out: only the 500s remain.
    const late = readMap(zone, st, t0 + 60_000);
    expectWithin(late.get('0.5'), 500);
    // And once the window has passed over everything, nothing is left.
    expect(metricValueToJson(zone.read(st, 0, t0 + 90_000))).toBe('{"0.5":null,"0.99":null}');
    expect(zone.text(st, 0, t0 + 90_000)).toBe('nan nan');
  });

  it('a slice reused after a full turn starts empty', () => {
    const { zone, st } = key(['quantile', '0.5', 'window=6s']);
    zone.update(st, 0, 1, 0);
    zone.update(st, 0, 1, 0);
    zone.update(st, 0, 900, WINDOW_SLICES * 1000);
    expectWithin(readMap(zone, st, WINDOW_SLICES * 1000).get('0.5'), 900);
  });
});

describe('quantile: bounded size', () => {
  it('values from 1e-9 to 1e12 never grow the record; the high quantiles stay within α', () => {
    const { zone, st, params } = key(['quantile', '0.5', '0.99', '0.999']);
    const size = st.length;
    const u = rng(3);
    const values: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      values.push(1e-9 * Math.pow(1e21, u()));
      zone.update(st, 0, values[i], 0);
    }
    expect(st.length).toBe(size);
    expect(dataBytes(quantileMode, params)).toBe(8 * size);
    values.sort((a, b) => a - b);
    const read = readMap(zone, st);
    for (const q of ['0.99', '0.999']) {
      const exact = values[nearestRank(Number(q), values.length) - 1];
      expectWithin(read.get(q), exact);
    }
    // The median fell in the collapsed bins: it reads as the lowest kept value, never below the truth.
    expect(read.get('0.5')!).toBeGreaterThanOrEqual(values[nearestRank(0.5, values.length) - 1]);
  });

  it('record sizes (README): 1,936 bytes at accuracy=0.01, ×6 (+ an epoch per slice) with a window', () => {
    const bytes = (args: string[]) => new Zone(inlineZone('z', 1 << 20, ['quantile', '0.5', ...args])).slots * 8;
    expect(bytes([])).toBe(1936);
    expect(bytes(['accuracy=0.1'])).toBe(256);
    expect(bytes(['accuracy=0.001'])).toBe(18776);
    expect(bytes(['window=1m'])).toBe(6 * (1936 + 8));
  });
});

describe('quantile: u32 bins', () => {
  it('a bin saturates at 2^32 − 1 instead of wrapping; the value count stays exact', () => {
    const { zone, st } = key(['quantile', '0.5']);
    zone.update(st, 0, 3, 0);
    zone.update(st, 0, 3, 0);
    // Each merge of the record into itself doubles every count: 2 · 2^33 values of 3.
    for (let i = 0; i < 33; i++) zone.merge(st, 0, st.slice(), 0, 0);
    expectWithin(readMap(zone, st).get('0.5'), 3);
    zone.update(st, 0, 1000, 0);
    // Ranks past the saturated bin's count read as the highest value: never a wrapped, wrong bin.
    expect([...new Uint32Array(st.buffer)].filter((c) => c === 0xffffffff)).toHaveLength(1);
    expectWithin(readMap(zone, st).get('0.5'), 1000);
  });
});

describe('quantile: values that are not numbers', () => {
  it('nan, inf, -inf and 1e999 are not counted; the record and the JSON stay valid', () => {
    const { zone, st } = key(['quantile', '0.5']);
    for (const text of ['nan', 'inf', '-inf', '1e999', '-1e999']) zone.update(st, 0, parseMetricValue(text), 0);
    expect(metricValueToJson(zone.read(st, 0, 0))).toBe('{"0.5":null}');
    zone.update(st, 0, parseMetricValue('0.2'), 0);
    for (const text of ['nan', 'inf', '-inf', '1e999']) zone.update(st, 0, parseMetricValue(text), 0);
    expect(zone.text(st, 0, 0)).toBe('0.199866892323206');
    expectWithin(JSON.parse(metricValueToJson(zone.read(st, 0, 0)))['0.5'], 0.2);
  });
});

describe('quantile: reading', () => {
  it('declaration order, names as written; text joins with spaces', () => {
    const { zone, st } = key(['quantile', '0.99', '.5', '0.90']);
    for (const v of [1, 2, 3, 4]) zone.update(st, 0, v, 0);
    expect([...readMap(zone, st).keys()]).toEqual(['0.99', '.5', '0.90']);
    // Bucket values: 4 and 2 within 1%.
    expect(zone.text(st, 0, 0)).toBe('4.01483533302859 1.99366170141734 4.01483533302859');
  });

  it('works as a sub-metric of a complex zone', () => {
    const zone = new Zone(complexZone('ep', 1 << 20, [['p', 'quantile', '0.5', '0.99'], ['n', 'count'], ['avg', 'average', 'mean']]));
    const st = new Float64Array(zone.slots);
    zone.init(st, 0);
    for (const v of [10, 20]) zone.update(st, 0, v, 0);
    expect(metricValueToJson(zone.read(st, 0, 0))).toBe('{"p":{"0.5":10.0746966895113,"0.99":19.8866702408662},"n":2,"avg":15}');
  });
});

describe('quantile: configuration errors', () => {
  const error = (args: string[]): string => {
    try {
      parseMetricSpec(args);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('no ConfigError thrown');
  };

  it.each([
    [['quantile'], 'no quantiles in "quantile"'],
    [['quantile', '1'], 'invalid quantile "1"'],
    [['quantile', '0'], 'invalid quantile "0"'],
    [['quantile', 'abc'], 'invalid quantile "abc"'],
    [['quantile', '0.5x'], 'invalid quantile "0.5x"'],
    [['quantile', 'nan'], 'invalid quantile "nan"'],
    [['quantile', '0.5', '0.50'], 'duplicated quantile "0.50"'],
    [['quantile', '0.5', 'accuracy=0'], 'invalid accuracy "0", expected 0.001 to 0.1'],
    [['quantile', '0.5', 'accuracy=0.2'], 'invalid accuracy "0.2", expected 0.001 to 0.1'],
    [['quantile', '0.5', 'window=0'], 'the quantile window cannot be zero'],
    [['quantile', '0.5', 'window=5x'], 'bad window value "5x"'],
    [['quantile', '0.5', 'count=3'], 'invalid parameter "count=3"'],
  ])('%j → %s', (args, message) => {
    expect(error(args)).toBe(message);
  });

  it('the fingerprint changes with the quantiles, the accuracy and the window', () => {
    const fp = (args: string[]) => new Zone(inlineZone('z', 1 << 20, args)).fingerprint;
    const base = fp(['quantile', '0.5', '0.99']);
    expect(fp(['quantile', '0.5', '0.99'])).toBe(base);
    expect(fp(['quantile', '0.5', '0.999'])).not.toBe(base);
    expect(fp(['quantile', '0.5', '0.99', 'accuracy=0.02'])).not.toBe(base);
    expect(fp(['quantile', '0.5', '0.99', 'window=1m'])).not.toBe(base);
  });
});
