import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { NodeLayout, slabChunks, slabPages } from '../../../src/store/slab';
import { apiKeyName, keyFromApiName, validateZoneDef, Zone, zoneFingerprint } from '../../../src/metric/zone';
import { bytes, complexZone, inlineZone } from './helpers';

describe('slab accounting', () => {
  it('carves pages out of a zone as ngx_slab_init does', () => {
    expect(slabPages(32768)).toBe(7);
    expect(slabChunks(32768)).toBe(224);
    expect(slabPages(1 << 20)).toBe(254);
    expect(slabPages(10 << 20)).toBe(2544);
  });

  it('lays a key node out from byte 65 of its first chunk', () => {
    const count = new NodeLayout([8]);
    expect(count.keyNodeChunks(1)).toBe(1);
    // 39 bytes end at 104: exactly the 16 bytes for "last data" and the counter remain
    expect(count.keyNodeChunks(39)).toBe(1);
    expect(count.keyNodeChunks(40)).toBe(2);
    // 55 bytes fill the first chunk: "last data" and the data take a second one
    expect(count.keyNodeChunks(55)).toBe(2);
    // 55 + 104 bytes end at 104 of the second chunk; one more pushes the data to a third
    expect(count.keyNodeChunks(159)).toBe(2);
    expect(count.keyNodeChunks(160)).toBe(3);
    expect(count.keyNodeChunks(255)).toBe(3);
  });

  it('flows data words over chunks and never splits a (value, timestamp) pair', () => {
    const fiveSlots = new NodeLayout([8, 8, 8, 8, 8]);
    expect(fiveSlots.keyNodeChunks(8)).toBe(2);
    expect(fiveSlots.discardNodeChunks()).toBe(1);
    const meanOff = new NodeLayout([8, ...new Array<number>(8).fill(8)]);
    expect(meanOff.keyNodeChunks(39)).toBe(2);
    // the counter takes the last 8 bytes of chunk 1; 7 pairs fill chunk 2; the 8th needs chunk 3
    const meanWindow = new NodeLayout([8, ...new Array<number>(8).fill(16)]);
    expect(meanWindow.keyNodeChunks(39)).toBe(3);
  });

  it('a 32k count zone holds 221 keys of 39 bytes beside its discard key', () => {
    const zone = new Zone(inlineZone('z', 32768, ['count'], { discardKey: 'old' }));
    expect(zone.baseChunks).toBe(3);
    expect((zone.totalChunks - zone.baseChunks) / zone.keyNodeChunks(39)).toBe(221);
  });

  it('a 1m count zone holds about 8,000 keys of 39 bytes', () => {
    const zone = new Zone(inlineZone('z', 1 << 20, ['count']));
    const keys = (zone.totalChunks - zone.baseChunks) / zone.keyNodeChunks(39);
    expect(keys).toBe(8126);
    expect(Math.abs(keys - 8000) / 8000).toBeLessThan(0.1);
  });
});

describe('zone definitions', () => {
  it('refuses zones below 32k', () => {
    expect(() => validateZoneDef(inlineZone('x', 32767, ['count']))).toThrow(
      new ConfigError('zone "x" is too small, at least 32768 bytes expected'),
    );
    expect(() => new Zone(inlineZone('x', 32768, ['count']))).not.toThrow();
  });

  it('refuses duplicated sub-metric names', () => {
    const def = complexZone('x', 32768, [['a', 'count'], ['a', 'max']]);
    expect(() => validateZoneDef(def)).toThrow(new ConfigError('duplicated metric name "a"'));
  });

  it('fingerprints size, modes, parameters and sub-metrics, not expire or discard_key', () => {
    const base = zoneFingerprint(complexZone('z', 32768, [['a', 'count'], ['b', 'average', 'exp', 'factor=60']]));
    const variant = (subs: string[][], size = 32768, opts = {}): string => zoneFingerprint(complexZone('z', size, subs, opts));
    expect(variant([['a', 'count'], ['b', 'average', 'exp', 'factor=60']])).toBe(base);
    expect(variant([['a', 'count'], ['b', 'average', 'exp', 'factor=60']], 32768, { expire: true, discardKey: 'k' })).toBe(base);
    expect(variant([['a', 'count'], ['b', 'average', 'exp', 'factor=60']], 65536)).not.toBe(base);
    expect(variant([['a', 'count'], ['b', 'average', 'exp', 'factor=61']])).not.toBe(base);
    expect(variant([['a', 'count'], ['b', 'average', 'mean']])).not.toBe(base);
    expect(variant([['a', 'count'], ['c', 'average', 'exp', 'factor=60']])).not.toBe(base);
    expect(variant([['a', 'count']])).not.toBe(base);
    expect(variant([['b', 'average', 'exp', 'factor=60'], ['a', 'count']])).not.toBe(base);
  });

  it('ignores empty and reserved keys, cuts long ones at 255 bytes', () => {
    const zone = new Zone(inlineZone('z', 32768, ['count'], { discardKey: 'old' }));
    expect(zone.acceptKey('')).toBeUndefined();
    expect(zone.acceptKey('old')).toBeUndefined();
    expect(zone.acceptKey('older')).toBe('older');
    expect(zone.acceptKey('a'.repeat(300))).toBe('a'.repeat(255));
    const utf8 = bytes('é'.repeat(200));
    expect(utf8.length).toBe(400);
    expect(zone.acceptKey(utf8)).toBe(utf8.slice(0, 255));
  });

  it('names 255-byte keys with "..." in the API, and back', () => {
    const long = 'k'.repeat(255);
    expect(apiKeyName(long)).toBe(`${long}...`);
    expect(apiKeyName('short')).toBe('short');
    expect(keyFromApiName(`${long}...`)).toBe(long);
    expect(keyFromApiName('short...')).toBe('short...');
  });
});
