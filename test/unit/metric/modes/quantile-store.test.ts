import { afterEach, describe, expect, it } from 'vitest';
import { MetricStore } from '../../../../src/metric/store/lmdb-store';
import { Zone, type ZoneDef } from '../../../../src/metric/zone';
import { inlineZone, metricValueToJson, tempDir } from '../helpers';

// The quantile record through the real LMDB store: what a zone holds, and
// what eviction folds into the discard key.

let opened: { store: MetricStore; cleanup: () => void } | undefined;
afterEach(() => {
  opened?.store.close();
  opened?.cleanup();
  opened = undefined;
});

function storeWith(def: ZoneDef): MetricStore {
  const { dir, cleanup } = tempDir();
  opened = { store: MetricStore.open(dir, [def]), cleanup };
  return opened.store;
}

function readOut<T>(store: MetricStore, fn: (r: ReturnType<MetricStore['reader']>) => T): T {
  const r = store.reader();
  try {
    return fn(r);
  } finally {
    r.close();
  }
}

const keyOf = (i: number) => `/route/${String(i).padStart(4, '0')}`;

describe('quantile zones in the store', () => {
  it('a key takes its record in the zone capacity: /status/slabs counts stay truthful', () => {
    const def = inlineZone('q', 1 << 20, ['quantile', '0.5', '0.99']);
    const zone = new Zone(def);
    const store = storeWith(def);
    for (let i = 0; i < 2000; i++) store.applyBatch([{ zone: 'q', key: keyOf(i), value: i / 1000 }]);
    const perKey = zone.keyNodeChunks(keyOf(0).length);
    // 1,936 bytes of state: 17 chunks of 120 bytes at least, and the key's own.
    expect(perKey).toBeGreaterThanOrEqual(17);
    const fits = Math.floor((zone.totalChunks - zone.baseChunks) / perKey);
    readOut(store, (r) => {
      expect(r.usage('q')).toMatchObject({ chunksUsed: zone.baseChunks + fits * perKey, chunksTotal: zone.totalChunks, keys: fits, fails: 2000 - fits });
      expect(r.discarded('q')).toBe(2000 - fits);
    });
  });

  it('expire=on: evicted keys fold into the discard key exactly as one sketch fed their values', () => {
    const def = inlineZone('q', 65536, ['quantile', '0.1', '0.5', '0.9', '0.99'], { expire: true, discardKey: 'other' });
    const store = storeWith(def);
    const values = (i: number) => [i / 100, (i * 7) % 50, 1000 + i];
    for (let i = 0; i < 60; i++) {
      for (const v of values(i)) store.applyBatch([{ zone: 'q', key: keyOf(i), value: v }]);
    }
    const { kept, other } = readOut(store, (r) => ({
      kept: new Set(r.keys('q')),
      other: metricValueToJson(r.get('q', 'other')!),
    }));
    expect(kept.size).toBeLessThan(30);
    // The same values, for the keys that were evicted, into one in-memory record.
    const zone = new Zone(def);
    const expected = new Float64Array(zone.slots);
    zone.init(expected, 0);
    for (let i = 0; i < 60; i++) {
      if (!kept.has(keyOf(i))) for (const v of values(i)) zone.update(expected, 0, v, 0);
    }
    expect(other).toBe(metricValueToJson(zone.read(expected, 0, 0)));
  });
});
