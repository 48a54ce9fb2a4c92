import { describe, expect, it } from 'vitest';
import { parseFlag, parseSize, parseTime } from '../../../src/config/values';

describe('nginx slot parsers', () => {
  it.each([
    ['512', 512],
    ['32k', 32768],
    ['32K', 32768],
    ['1m', 1048576],
    ['2g', 2 * 1024 ** 3],
    ['1.5m', undefined],
    ['k', undefined],
    ['', undefined],
  ])('size %s', (text, v) => expect(parseSize(text)).toBe(v));

  it.each([
    ['30', 30000],
    ['500ms', 500],
    ['5s', 5000],
    ['1m', 60000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['5x', undefined],
    ['s', undefined],
    ['1m 2', undefined],
  ])('time %s', (text, v) => expect(parseTime(text)).toBe(v));

  it('flags', () => {
    expect(parseFlag('on')).toBe(true);
    expect(parseFlag('off')).toBe(false);
    expect(parseFlag('yes')).toBeUndefined();
  });
});
