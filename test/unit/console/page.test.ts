import { describe, expect, it } from 'vitest';
import { chartParts, columnsFor, numericKeys, pName, shapeOf } from '../../../src/console/page/columns';
import { Series } from '../../../src/console/page/history';

describe('console page: reading zone values', () => {
  it('tells histograms, quantile sets and named fields apart by their keys', () => {
    expect(shapeOf({ '0.1': 1, '1': 2, inf: 3 })).toBe('histogram');
    expect(shapeOf({ '0.5': 1, '0.95': 2, '0.99': 3 })).toBe('quantiles');
    expect(shapeOf({ min: 1, max: 2 })).toBe('fields');
    expect(numericKeys({ '1': 0, inf: 0, '0.1': 0, '0.5': 0 })).toEqual(['0.1', '0.5', '1', 'inf']);
    expect(pName('0.5')).toBe('p50');
    expect(pName('0.999')).toBe('p99.9');
  });

  it('makes a column per complex field, a p-column per quantile and a count per histogram', () => {
    const value = { low: 1, lat: { '0.5': 2, '0.99': 9 }, sizes: { '1': 4, '0.5': 1, inf: 7 } };
    const cols = columnsFor(value);
    expect(cols.map((c) => c.name)).toEqual(['low', 'lat p50', 'lat p99', 'sizes count']);
    expect(cols.map((c) => c.get(value))).toEqual([1, 2, 9, 7]);
    expect(columnsFor(5).map((c) => c.get(5))).toEqual([5]);
    expect(chartParts(value).map((p) => [p.field, p.shape, p.keys])).toEqual([
      ['lat', 'quantiles', ['0.5', '0.99']],
      ['sizes', 'histogram', ['0.5', '1', 'inf']],
      ['', 'fields', ['low']],
    ]);
  });

  it('computes rates per second and none across a counter reset', () => {
    const s = new Series();
    s.push(0, 10);
    expect(s.rate()).toBeUndefined();
    s.push(2000, 30);
    expect(s.rate()).toBe(10);
    s.push(3000, 1);
    expect(s.rate()).toBeUndefined();
    expect(s.rates()).toEqual([null, 10, null]);
  });
});
