import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { MODES, parseMetricSpec, dataBytes } from '../../../src/metric/modes';
import { parseMsTime } from '../../../src/metric/modes/average';
import { parseMetricValue } from '../../../src/metric/strtod';
import { formatNumber } from '../../../src/metric/value';
import { Zone, type ZoneDef } from '../../../src/metric/zone';
import { complexZone, inlineZone, metricValueToJson } from './helpers';

/** Feeds raw value texts to one in-memory key of `def`, as Angie would. */
function feed(def: ZoneDef, values: string[], nowMs = 0): { zone: Zone; st: Float64Array } {
  const zone = new Zone(def);
  const st = new Float64Array(zone.slots);
  zone.init(st, 0);
  for (const v of values) zone.update(st, 0, parseMetricValue(v), nowMs);
  return { zone, st };
}

const json = (def: ZoneDef, values: string[]): string => {
  const { zone, st } = feed(def, values);
  return metricValueToJson(zone.read(st, 0, 0));
};

const configError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('no ConfigError thrown');
};

describe('worked examples (metric.md and Angie docs)', () => {
  it('average exp factor=60: 100 200 0 8 30 → 30.16', () => {
    expect(json(inlineZone('z', 32768, ['average', 'exp', 'factor=60']), ['100', '200', '0', '8', '30'])).toBe('30.16');
  });

  it('average mean window=5s count=8: 2.1, then 0 five seconds later', () => {
    const t0 = 1_700_000_000_000;
    const { zone, st } = feed(inlineZone('z', 32768, ['average', 'mean', 'window=5s', 'count=8']), ['0.1', '0.1', '0.4', '10', '1', '1'], t0);
    expect(zone.text(st, 0, t0)).toBe('2.1');
    expect(zone.text(st, 0, t0 + 4999)).toBe('2.1');
    expect(zone.read(st, 0, t0 + 5000)).toBe(0);
  });

  it('histogram 0.1 0.2 0.5 1 2 inf, step by step', () => {
    const def = inlineZone('z', 32768, ['histogram', '0.1', '0.2', '0.5', '1', '2', 'inf']);
    expect(json(def, ['0.25'])).toBe('{"0.1":0,"0.2":0,"0.5":1,"1":1,"2":1,"inf":1}');
    expect(json(def, ['0.25', '2'])).toBe('{"0.1":0,"0.2":0,"0.5":1,"1":1,"2":2,"inf":2}');
    expect(json(def, ['0.25', '2', '1000'])).toBe('{"0.1":0,"0.2":0,"0.5":1,"1":1,"2":2,"inf":3}');
  });

  it('gauge: 5 -5 8 0.1 1e3 abc 12abc → 1021.1', () => {
    expect(json(inlineZone('z', 32768, ['gauge']), ['5', '-5', '8', '0.1', '1e3', 'abc', '12abc'])).toBe('1021.1');
  });

  it('the complex example', () => {
    const def = complexZone('z', 32768, [
      ['count', 'count'],
      ['min', 'min'],
      ['max', 'max'],
      ['last', 'last'],
      ['gauge', 'gauge'],
      ['avg', 'average', 'mean'],
      ['hist', 'histogram', '1', '5', '10'],
    ]);
    const values = ['', '348', '-343455', '0.04'];
    expect(json(def, values)).toBe(
      '{"count":4,"min":-343455,"max":348,"last":0.04,"gauge":-343106.96,"avg":-85776.74,"hist":{"1":3,"5":3,"10":3}}',
    );
    const { zone, st } = feed(def, values);
    expect(zone.text(st, 0, 0)).toBe('4, -343455, 348, 0.04, -343106.96, -85776.74, 3 3 3');
  });

  it('average exp with the default factor 90: 1077.9376, then 108.69376', () => {
    const def = inlineZone('z', 32768, ['average', 'exp']);
    const values = ['16384', '64448', '64', '1028', '1028'];
    expect(json(def, values)).toBe('1077.9376');
    expect(json(def, [...values, '1'])).toBe('108.69376');
  });

  it('the upload example of the Prometheus section', () => {
    const def = complexZone('upload', 1 << 20, [
      ['stats', 'histogram', '64', '256', '1024', '4096', '16384', '+Inf'],
      ['sum', 'gauge'],
      ['count', 'count'],
      ['avg_size', 'average', 'exp'],
    ]);
    expect(json(def, ['16384', '64448', '64', '1028', '1028'])).toBe(
      '{"stats":{"64":1,"256":1,"1024":1,"4096":3,"16384":4,"+Inf":5},"sum":82952,"count":5,"avg_size":1077.9376}',
    );
  });

  it('the per-mode examples of the docs', () => {
    expect(json(inlineZone('z', 32768, ['count']), ['', '1', '23', '-32'])).toBe('4');
    expect(json(inlineZone('z', 32768, ['gauge']), [''])).toBe('0');
    expect(json(inlineZone('z', 32768, ['last']), ['8000', '37', '-3.5'])).toBe('-3.5');
    expect(json(inlineZone('z', 32768, ['min']), ['42.999', '-512', '1'])).toBe('-512');
    expect(json(inlineZone('z', 32768, ['max']), ['42.999', '-512', '1'])).toBe('42.999');
  });

  it('variable texts of the docs', () => {
    const hist = feed(complexZone('c', 1 << 20, [['hist', 'histogram', '1', '2', '3'], ['avg', 'average', 'exp']]), ['3']);
    expect(hist.zone.text(hist.st, 0, 0)).toBe('0 0 1, 3');
    const foo = feed(complexZone('foo', 1 << 20, [['count', 'count'], ['min', 'min'], ['avg', 'average', 'exp']]), ['9']);
    expect(foo.zone.text(foo.st, 0, 0)).toBe('1, 9, 9');
    expect(foo.zone.subText(foo.st, 0, 'count', 0)).toBe('1');
    expect(foo.zone.subText(foo.st, 0, 'nope', 0)).toBeUndefined();
  });
});

describe('average mean', () => {
  const mean = (args: string[]): Zone => new Zone(inlineZone('z', 32768, ['average', 'mean', ...args]));

  it('keeps the last count values, window off', () => {
    const zone = mean(['count=3']);
    const st = new Float64Array(zone.slots);
    zone.init(st, 0);
    for (const v of [100, 1, 2, 3]) zone.update(st, 0, v, 0);
    expect(zone.read(st, 0, 0)).toBe(2);
  });

  it('counts only values inside the window, at read time', () => {
    const zone = mean(['window=10s']);
    const st = new Float64Array(zone.slots);
    zone.init(st, 0);
    zone.update(st, 0, 10, 1000);
    zone.update(st, 0, 20, 6000);
    expect(zone.read(st, 0, 6000)).toBe(15);
    expect(zone.read(st, 0, 11_000)).toBe(20);
    expect(zone.read(st, 0, 16_000)).toBe(0);
  });
});

describe('merging an evicted key into the discard key', () => {
  function mergeOf(modeArgs: string[], discardValues: number[], evictedValues: number[]): string {
    const zone = new Zone(inlineZone('z', 32768, modeArgs));
    const into = new Float64Array(zone.slots);
    const from = new Float64Array(zone.slots);
    zone.init(into, 0);
    zone.init(from, 0);
    for (const v of discardValues) zone.update(into, 0, v, 0);
    for (const v of evictedValues) zone.update(from, 0, v, 0);
    zone.merge(into, 0, from, 0, 0);
    return metricValueToJson(zone.read(into, 0, 0));
  }

  it('count and gauge add', () => {
    expect(mergeOf(['count'], [1, 1], [5, 5, 5])).toBe('5');
    expect(mergeOf(['gauge'], [1, 2], [5, 5])).toBe('13');
  });

  it('min and max combine, last takes the evicted value', () => {
    expect(mergeOf(['min'], [3], [7, 2])).toBe('2');
    expect(mergeOf(['min'], [], [7])).toBe('7');
    expect(mergeOf(['max'], [3], [1])).toBe('3');
    expect(mergeOf(['last'], [3], [9, 1])).toBe('1');
  });

  it('averages take one update with the evicted value', () => {
    expect(mergeOf(['average', 'exp', 'factor=50'], [10], [20, 40])).toBe('20');
    expect(mergeOf(['average', 'exp'], [], [20, 40])).toBe('38');
    expect(mergeOf(['average', 'mean'], [10], [20, 40])).toBe('20');
  });

  it('histograms add bucket by bucket', () => {
    expect(mergeOf(['histogram', '1', '10'], [0], [5, 50])).toBe('{"1":1,"10":2}');
  });
});

describe('mode parameters', () => {
  it('finds every mode by its config words', () => {
    // histogram and quantile need one number after their name.
    const needsNumber = (name: string) => (name === 'histogram' || name === 'quantile' ? ['0.5'] : []);
    expect(MODES.map((m) => parseMetricSpec([...m.name.split(' '), ...needsNumber(m.name)]).mode)).toEqual(MODES);
  });

  it('reads factor, count and window', () => {
    expect(parseMetricSpec(['average', 'exp', 'factor=60']).params).toEqual({ percent: 60, factor: 0.6 });
    expect(parseMetricSpec(['average', 'exp', 'factor=0']).params).toEqual({ percent: 0, factor: 0 });
    expect(parseMetricSpec(['average', 'exp']).params).toEqual({ percent: 90, factor: 0.9 });
    expect(parseMetricSpec(['average', 'mean']).params).toEqual({ count: 10, windowMs: 0 });
    expect(parseMetricSpec(['average', 'mean', 'count=8', 'window=5s']).params).toEqual({ count: 8, windowMs: 5000 });
    expect(parseMetricSpec(['average', 'mean', 'window=off']).params).toEqual({ count: 10, windowMs: 0 });
  });

  it('reads nginx times, bare numbers as milliseconds', () => {
    expect(parseMsTime('500ms')).toBe(500);
    expect(parseMsTime('1m30s')).toBe(90_000);
    expect(parseMsTime('1h 2m')).toBe(3_720_000);
    expect(parseMsTime('1500')).toBe(1500);
    expect(parseMsTime('1s500')).toBe(1500);
    expect(parseMsTime('2d')).toBe(172_800_000);
    for (const bad of ['', 's', '1x', '5s1m', '1y', '-5s', '1.5s']) expect(parseMsTime(bad)).toBeUndefined();
  });

  it('sorts histogram bounds and keeps their spelling', () => {
    expect(parseMetricSpec(['histogram', '10', '+Inf', '0x2', '1']).params).toEqual({
      bounds: [1, 2, 10, Infinity],
      names: ['1', '0x2', '10', '+Inf'],
    });
  });

  it('refuses bad parameters with nginx phrases', () => {
    const error = (args: string[]): string => configError(() => parseMetricSpec(args));
    expect(error([])).toBe('missing value mode');
    expect(error(['foo'])).toBe('unknown mode "foo"');
    expect(error(['average'])).toBe('unknown mode "average"');
    expect(error(['average', 'median'])).toBe('unknown mode "average"');
    expect(error(['count', 'x'])).toBe('unknown parameter "x"');
    expect(error(['average', 'exp', 'factor=100'])).toBe('bad factor value "100"');
    expect(error(['average', 'exp', 'factor=x'])).toBe('bad factor value "x"');
    expect(error(['average', 'exp', 'factor=-1'])).toBe('bad factor value "-1"');
    expect(error(['average', 'exp', 'count=3'])).toBe('invalid parameter "count=3"');
    expect(error(['average', 'mean', 'window=0'])).toBe('the average window cannot be zero');
    expect(error(['average', 'mean', 'window=0s'])).toBe('the average window cannot be zero');
    expect(error(['average', 'mean', 'window=abc'])).toBe('bad window value "abc"');
    expect(error(['average', 'mean', 'count=0'])).toBe('average count must be greater than 0');
    expect(error(['average', 'mean', 'count=x'])).toBe('bad count value "x"');
    expect(error(['average', 'mean', 'factor=1'])).toBe('invalid parameter "factor=1"');
    expect(error(['histogram'])).toBe('empty histogram');
    expect(error(['histogram', '1', 'x'])).toBe('bad bucket value "x"');
    expect(error(['histogram', '1', '2x'])).toBe('bad bucket value "2x"');
    expect(error(['histogram', '1e999'])).toBe('bad bucket value "1e999"');
    expect(error(['histogram', 'nan'])).toBe('bad bucket value "nan"');
    expect(error(['histogram', '1', '1.0'])).toBe('duplicated bucket "1.0"');
    expect(error(['histogram', 'inf', '+Inf'])).toBe('duplicated bucket "+Inf"');
  });

  it('gives Angie data sizes', () => {
    const size = (args: string[]): number => {
      const { mode, params } = parseMetricSpec(args);
      return dataBytes(mode, params);
    };
    for (const simple of [['count'], ['gauge'], ['last'], ['min'], ['max'], ['average', 'exp']]) expect(size(simple)).toBe(8);
    expect(size(['average', 'mean'])).toBe(8 + 10 * 8);
    expect(size(['average', 'mean', 'count=8', 'window=5s'])).toBe(8 + 8 * 16);
    expect(size(['histogram', '1', '2', 'inf'])).toBe(24);
  });
});

describe('formatNumber', () => {
  it('prints like ngx_dtoa', () => {
    expect(formatNumber(30.159999999999997)).toBe('30.16');
    expect(formatNumber(4)).toBe('4');
    expect(formatNumber(-0.5)).toBe('-0.5');
    expect(formatNumber(1077.9376)).toBe('1077.9376');
    expect(formatNumber(Infinity)).toBe('inf');
    expect(formatNumber(-Infinity)).toBe('-inf');
    expect(formatNumber(NaN)).toBe('nan');
  });
});
