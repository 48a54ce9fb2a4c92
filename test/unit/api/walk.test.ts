import { describe, expect, it } from 'vitest';
import { fromValue, lazyObject, ReadCtx, StaticObject } from '../../../src/api/tree';
import { apiTarget, percentDecode, rawRestAfter, resolvePath, splitSegments } from '../../../src/api/walk';

const ctx = new ReadCtx();

describe('splitSegments', () => {
  it('skips empty segments from doubled, leading and trailing slashes', () => {
    expect(splitSegments('/status//http/')).toEqual(['status', 'http']);
    expect(splitSegments('')).toEqual([]);
    expect(splitSegments('/')).toEqual([]);
  });
});

describe('percentDecode', () => {
  it('decodes to bytes, not to UTF-8 text', () => {
    expect(percentDecode('caf%C3%A9')).toBe('caf\xc3\xa9');
    expect(percentDecode('a%2Fb%2fc')).toBe('a/b/c');
    expect(percentDecode('%FF')).toBe('\xff');
  });

  it('leaves a malformed escape as it is', () => {
    expect(percentDecode('100%')).toBe('100%');
    expect(percentDecode('%zz%4')).toBe('%zz%4');
  });
});

describe('resolvePath', () => {
  const tree = new StaticObject()
    .set('http', fromValue({ zones: { a: { n: 1 } } }))
    .set('lazy', () => fromValue({ x: 'y' }));

  it('walks objects down to a leaf or an object', () => {
    expect(resolvePath(tree, ['http', 'zones', 'a', 'n'], ctx)).toBe(1);
    expect(resolvePath(tree, ['lazy', 'x'], ctx)).toBe('y');
    expect(resolvePath(tree, [], ctx)).toBe(tree);
  });

  it('answers undefined for a missing child or a step below a leaf', () => {
    expect(resolvePath(tree, ['http', 'nope'], ctx)).toBeUndefined();
    expect(resolvePath(tree, ['http', 'zones', 'a', 'n', 'deeper'], ctx)).toBeUndefined();
  });

  it('hands segments to nodes untouched, so a node can give a spelling its own meaning', () => {
    const long = 'k'.repeat(255);
    const seen: string[] = [];
    const zone = lazyObject(
      () => [long],
      (name) => {
        seen.push(name);
        return name === long + '...' ? 7 : undefined;
      },
    );
    expect(resolvePath(zone, [long + '...'], ctx)).toBe(7);
    expect(seen).toEqual([long + '...']);
  });
});

describe('apiTarget', () => {
  it('addresses the prefix itself when the URI rest is empty', () => {
    expect(apiTarget('/status/', { raw: '', decoded: '' })).toEqual({ display: '/status/', segments: ['status'] });
    expect(apiTarget('/status/', { raw: '/', decoded: '/' })).toEqual({ display: '/status/', segments: ['status'] });
  });

  it('joins prefix and rest with one slash, keeping a trailing slash for display', () => {
    expect(apiTarget('/status/', { raw: 'nope', decoded: 'nope' })).toEqual({ display: '/status/nope', segments: ['status', 'nope'] });
    expect(apiTarget('/status', { raw: 'http/', decoded: 'http/' })).toEqual({ display: '/status/http/', segments: ['status', 'http'] });
    expect(apiTarget('/', { raw: 'status', decoded: 'status' })).toEqual({ display: '/status', segments: ['status'] });
  });

  it('splits the raw rest before decoding, so %2F stays inside its key', () => {
    const t = apiTarget('/status/http/metric_zones/', { raw: 'z/metrics/a%2Fb', decoded: 'z/metrics/a/b' });
    expect(t.segments).toEqual(['status', 'http', 'metric_zones', 'z', 'metrics', 'a/b']);
    expect(t.display).toBe('/status/http/metric_zones/z/metrics/a/b');
  });

  it('falls back to the decoded rest when the raw one is unknown', () => {
    expect(apiTarget('/status/', { raw: undefined, decoded: 'a/b' }).segments).toEqual(['status', 'a', 'b']);
  });

  it('uses the prefix alone when there is no rest (regex locations)', () => {
    expect(apiTarget('/status/http/metric_zones/z/metrics/k', undefined)).toEqual({
      display: '/status/http/metric_zones/z/metrics/k',
      segments: ['status', 'http', 'metric_zones', 'z', 'metrics', 'k'],
    });
  });
});

describe('rawRestAfter', () => {
  it('cuts the raw path after as many decoded bytes as the location prefix has', () => {
    expect(rawRestAfter('/api/a%2Fb/c', '/api/a/b/c', 5)).toBe('a%2Fb/c');
    expect(rawRestAfter('/%61pi/x', '/api/x', 5)).toBe('x');
  });

  it('gives up when the raw path does not decode to $uri (normalised or rewritten)', () => {
    expect(rawRestAfter('/api//x', '/api/x', 5)).toBeUndefined();
  });
});
