import { describe, it, expect } from 'vitest';
import { isOutOfRange, parseMetricValue, scanNumber, strtod } from '../../../src/metric/strtod';

describe('strtod', () => {
  // [input, value, characters consumed] — as glibc's strtod reads them
  const table: Array<[string, number, number]> = [
    ['12abc', 12, 2],
    ['1e3', 1000, 3],
    ['-0.5', -0.5, 4],
    ['+7', 7, 2],
    ['.5', 0.5, 2],
    ['5.', 5, 2],
    ['5.e2', 500, 4],
    ['1e', 1, 1],
    ['1e+', 1, 1],
    ['1_000', 1, 1],
    [' \t\n42', 42, 5],
    ['0x10', 16, 4],
    ['0X1f', 31, 4],
    ['-0x10', -16, 5],
    ['0x1p3', 8, 5],
    ['0x1.8p1', 3, 7],
    ['0x.8', 0.5, 4],
    ['0x1p', 1, 3],
    ['0x', 0, 1],
    ['0xg', 0, 1],
    ['0x1P-1074', 5e-324, 9],
    ['inf', Infinity, 3],
    ['INFINITY', Infinity, 8],
    ['infin', Infinity, 3],
    ['-Inf', -Infinity, 4],
    ['+Inf', Infinity, 4],
    ['1e999', Infinity, 5],
    ['-1e999', -Infinity, 6],
    ['1e-400', 0, 6],
    ['.', 0, 0],
    ['+.e1', 0, 0],
    ['--5', 0, 0],
    ['+-5', 0, 0],
    ['abc', 0, 0],
    ['', 0, 0],
  ];

  it.each(table)('%j → %d (%d chars)', (input, value, end) => {
    const scan = scanNumber(input);
    expect(scan.value).toBe(value);
    expect(scan.end).toBe(end);
    expect(strtod(input)).toBe(value);
  });

  it('reads nan, with or without an n-char sequence', () => {
    expect(strtod('nan')).toBeNaN();
    expect(scanNumber('NaN(123)x')).toEqual({ value: NaN, end: 8 });
    expect(scanNumber('nan(')).toEqual({ value: NaN, end: 3 });
  });

  it('flags what glibc reports as ERANGE', () => {
    const range = (s: string): boolean => isOutOfRange(s, scanNumber(s));
    expect(range('1e999')).toBe(true);
    expect(range('1e-400')).toBe(true);
    expect(range('0x1p-1080')).toBe(true);
    expect(range('0e-400')).toBe(false);
    expect(range('inf')).toBe(false);
    expect(range('0.1')).toBe(false);
  });
});

describe('parseMetricValue', () => {
  const table: Array<[string, number]> = [
    ['', 0],
    ['abc', 1],
    ['tt', 1],
    ['--5', 1],
    [' ', 1],
    ['12abc', 12],
    ['1e3', 1000],
    ['-0.5', -0.5],
    ['0x10', 16],
    ['5\0', 5],
    ['\0abc', 0],
  ];

  it.each(table)('%j → %d', (input, value) => {
    expect(parseMetricValue(input)).toBe(value);
  });

  it('reads only the first 255 bytes', () => {
    expect(parseMetricValue('1'.repeat(300))).toBe(Number('1'.repeat(255)));
    expect(parseMetricValue(`${' '.repeat(255)}5`)).toBe(1);
    expect(parseMetricValue('x'.repeat(300))).toBe(1);
  });

  it('follows strtod for inf and nan prefixes', () => {
    expect(parseMetricValue('infinite')).toBe(Infinity);
    expect(parseMetricValue('nano')).toBeNaN();
  });
});
