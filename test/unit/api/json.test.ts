import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatNumber, renderJson } from '../../../src/api/json';
import { fromValue, lazyObject, ReadCtx, StaticObject } from '../../../src/api/tree';

const ctx = new ReadCtx();

/** Arbitrary byte strings: every char code below 256, as request bytes are held. */
const bytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }).map((a) => String.fromCharCode(...a));

describe('formatNumber', () => {
  it('prints integers exactly and fractions at 15 significant digits', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(82953)).toBe('82953');
    expect(formatNumber(2 ** 53 - 1)).toBe('9007199254740991');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(1077.9376)).toBe('1077.9376');
    expect(formatNumber(-2.5)).toBe('-2.5');
    expect(formatNumber(1e21)).toBe('1e+21');
    expect(formatNumber(-Number.MAX_VALUE)).toBe('-1.7976931348623157e+308');
  });
});

describe('renderJson', () => {
  const tree = new StaticObject()
    .set('angie', fromValue({ version: '1.13.0', generation: 1 }))
    .set('empty', fromValue({}))
    .set('flags', fromValue({ up: true, none: null, ratio: 30.16 }));

  it('pretty-prints with four spaces', () => {
    expect(renderJson(tree, ctx)).toBe(
      [
        '{',
        '    "angie": {',
        '        "version": "1.13.0",',
        '        "generation": 1',
        '    },',
        '    "empty": {},',
        '    "flags": {',
        '        "up": true,',
        '        "none": null,',
        '        "ratio": 30.16',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('renders compactly when asked', () => {
    expect(renderJson(tree, ctx, false)).toBe(
      '{"angie":{"version":"1.13.0","generation":1},"empty":{},"flags":{"up":true,"none":null,"ratio":30.16}}',
    );
  });

  it('answers a leaf as its bare value', () => {
    expect(renderJson(1, ctx, false)).toBe('1');
    expect(renderJson('text', ctx, false)).toBe('"text"');
  });

  it('renders non-finite numbers as null', () => {
    const out = renderJson(fromValue({ a: NaN, b: Infinity, c: -Infinity }), ctx, false);
    expect(out).toBe('{"a":null,"b":null,"c":null}');
  });

  it('leaves out a listed child that declines to answer', () => {
    const node = lazyObject(
      () => ['here', 'gone'],
      (name) => (name === 'here' ? 1 : undefined),
    );
    expect(renderJson(node, ctx, false)).toBe('{"here":1}');
  });

  it('turns byte keys into UTF-8 text injectively (\\xHH for bytes that are not UTF-8, \\\\ for a backslash); values as UTF-8', () => {
    const keys = ['"quoted"', 'back\\slash', 'new\nline', 'nul\x00', 'caf\xc3\xa9', 'bad\xff\xfe', 'cut\xc3', 'dup\xff', 'dup\xfe', 'dup\\xFF'];
    const rec: Record<string, string> = {};
    for (const k of keys) rec[k] = k;
    const text = renderJson(fromValue(rec), ctx);
    const parsed = JSON.parse(text) as Record<string, string>;
    expect(Object.keys(parsed)).toEqual([
      '"quoted"',
      'back\\\\slash',
      'new\nline',
      'nul\x00',
      'café',
      'bad\\xFF\\xFE',
      'cut\\xC3',
      'dup\\xFF',
      'dup\\xFE',
      'dup\\\\xFF',
    ]);
    // Every member once: none was written twice under one name.
    expect(text.match(/^ {4}"/gm)).toHaveLength(keys.length);
    expect(parsed['café']).toBe('café');
    expect(parsed['bad\\xFF\\xFE']).toBe('bad\ufffd\ufffd');
  });

  it('always produces parseable JSON for arbitrary byte keys and values', () => {
    fc.assert(
      fc.property(fc.dictionary(bytes, fc.oneof(bytes, fc.double(), fc.boolean(), fc.constant(null))), fc.boolean(), (rec, pretty) => {
        const node = lazyObject(
          () => Object.keys(rec),
          (name) => rec[name],
        );
        expect(() => JSON.parse(renderJson(node, ctx, pretty))).not.toThrow();
      }),
    );
  });
});
