import { afterEach, describe, expect, it } from 'vitest';
import { MetricStore } from '../../../src/metric/store/lmdb-store';
import type { ZoneDef } from '../../../src/metric/zone';
import { inlineZone, metricValueToJson, tempDir } from './helpers';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** A store on a clock the test moves by hand: no sleeps. */
function clockedStore(defs: ZoneDef[]) {
  const clock = { now: 0 };
  const { dir, cleanup } = tempDir();
  let store = MetricStore.open(dir, defs, { now: () => clock.now });
  cleanups.push(cleanup, () => store.close());
  return {
    clock,
    get store() {
      return store;
    },
    reopen(next: ZoneDef[]) {
      store.close();
      store = MetricStore.open(dir, next, { now: () => clock.now });
    },
  };
}

const withTtl = (def: ZoneDef, ttl: number | undefined): ZoneDef => ({ ...def, ttl });

function put(store: MetricStore, key: string, value: number): void {
  store.applyBatch([{ zone: 'z', key, value }]);
}

/** The zone as the API shows it: discarded and every key's value. */
function shown(store: MetricStore): { discarded: number; metrics: Record<string, string> } {
  const r = store.reader();
  try {
    const metrics: Record<string, string> = {};
    for (const key of r.keys('z')) metrics[key] = metricValueToJson(r.get('z', key)!);
    return { discarded: r.discarded('z'), metrics };
  } finally {
    r.close();
  }
}

const keyCount = (store: MetricStore) => {
  const r = store.reader();
  try {
    return r.usage('z').keys;
  } finally {
    r.close();
  }
};

describe('ttl in the store', () => {
  const gauge = withTtl(inlineZone('z', 1 << 20, ['gauge'], { discardKey: 'old' }), 1000);

  it('a key is shown until ttl after its last update, then folds into the discard key; discarded stays 0', () => {
    const s = clockedStore([gauge]);
    put(s.store, 'a', 5);
    s.clock.now = 500;
    put(s.store, 'b', 1);
    s.clock.now = 999;
    expect(shown(s.store)).toEqual({ discarded: 0, metrics: { a: '5', b: '1' } });
    s.clock.now = 1000;
    // Readers see the expiry before any sweep ran, the discard key included.
    expect(shown(s.store)).toEqual({ discarded: 0, metrics: { b: '1', old: '5' } });
    expect(s.store.sweepExpired()).toBe(1);
    expect(shown(s.store)).toEqual({ discarded: 0, metrics: { b: '1', old: '5' } });
    expect(keyCount(s.store)).toBe(1);
  });

  it('an update moves the deadline; a stale key updated starts afresh', () => {
    const s = clockedStore([gauge]);
    put(s.store, 'a', 5);
    s.clock.now = 900;
    put(s.store, 'a', 1);
    s.clock.now = 1800;
    expect(shown(s.store).metrics).toEqual({ a: '6' });
    s.clock.now = 1900;
    put(s.store, 'a', 2);
    expect(shown(s.store)).toEqual({ discarded: 0, metrics: { a: '2', old: '6' } });
  });

  it('a sweep writes nothing while nothing is stale, and takes only the stale keys', () => {
    const s = clockedStore([gauge]);
    for (let i = 0; i < 100; i++) {
      s.clock.now = i * 10;
      put(s.store, `k${i}`, 1);
    }
    expect(s.store.sweepExpired()).toBe(0);
    s.clock.now = 1000 + 95;
    expect(s.store.sweepExpired()).toBe(10);
    expect(keyCount(s.store)).toBe(90);
    expect(shown(s.store).metrics.old).toBe('10');
  });

  it('a zone without a discard key just drops the stale key', () => {
    const s = clockedStore([withTtl(inlineZone('z', 1 << 20, ['count']), 1000)]);
    put(s.store, 'a', 1);
    s.clock.now = 1000;
    expect(shown(s.store)).toEqual({ discarded: 0, metrics: {} });
    expect(s.store.sweepExpired()).toBe(1);
    expect(keyCount(s.store)).toBe(0);
  });

  it('a different ttl keeps the data and applies to it; stored update times survive a reopen', () => {
    const s = clockedStore([gauge]);
    put(s.store, 'a', 3);
    s.reopen([withTtl(gauge, 5000)]);
    s.clock.now = 4999;
    expect(shown(s.store).metrics).toEqual({ a: '3' });
    s.clock.now = 5000;
    expect(shown(s.store).metrics).toEqual({ old: '3' });
  });

  it('keys written without ttl get one counted from when the ttl zone first writes', () => {
    const plain = inlineZone('z', 1 << 20, ['gauge'], { discardKey: 'old' });
    const s = clockedStore([plain]);
    put(s.store, 'a', 3);
    s.reopen([withTtl(plain, 1000)]);
    s.clock.now = 10_000;
    put(s.store, 'b', 1);
    s.clock.now = 10_999;
    expect(shown(s.store).metrics).toEqual({ a: '3', b: '1' });
    s.clock.now = 11_000;
    expect(shown(s.store).metrics).toEqual({ old: '4' });
  });
});

describe('ttl removed and given back', () => {
  it('updates made without ttl are not lost to update times from before: the ttl restarts', () => {
    const plain = inlineZone('z', 1 << 20, ['gauge']);
    const s = clockedStore([withTtl(plain, 1000)]);
    put(s.store, 'a', 1);
    s.reopen([plain]);
    s.clock.now = 5000;
    put(s.store, 'a', 1);
    s.reopen([withTtl(plain, 1000)]);
    s.clock.now = 5500;
    expect(shown(s.store).metrics).toEqual({ a: '2' });
    put(s.store, 'b', 1);
    s.clock.now = 6499;
    expect(shown(s.store).metrics).toEqual({ a: '2', b: '1' });
    s.clock.now = 6500;
    expect(shown(s.store).metrics).toEqual({});
  });
});

describe('API deletes in the store', () => {
  it.each([
    ['expire=off', inlineZone('z', 32768, ['count'], { discardKey: 'old' })],
    ['expire=on', inlineZone('z', 32768, ['count'], { discardKey: 'old', expire: true })],
    ['ttl', withTtl(inlineZone('z', 32768, ['count'], { discardKey: 'old' }), 60_000)],
  ])('%s: deleteKey removes one key and gives its room back; clearZone empties keys and discarded', (_name, def) => {
    const s = clockedStore([def]);
    const key = (i: number) => `key-${String(i).padStart(40, '0')}`;
    let n = 0;
    while (shown(s.store).discarded === 0) put(s.store, key(n++), 1);
    const full = keyCount(s.store);
    // Key 1 is stored whatever the zone did with the key that did not fit (expire=on evicted key 0).
    expect(s.store.deleteKey('z', key(1))).toBe(true);
    expect(s.store.deleteKey('z', key(1))).toBe(false);
    expect(s.store.deleteKey('z', 'nope')).toBe(false);
    expect(keyCount(s.store)).toBe(full - 1);
    // The discard key shows once something went to it; deleting it resets and hides it.
    const before = shown(s.store);
    expect(s.store.deleteKey('z', 'old')).toBe(before.metrics.old !== undefined);
    expect(shown(s.store).metrics.old).toBeUndefined();
    s.store.clearZone('z');
    expect(shown(s.store)).toEqual({ discarded: 0, metrics: {} });
    expect(keyCount(s.store)).toBe(0);
    for (let i = 0; i < full; i++) put(s.store, `new-${String(i).padStart(40, '0')}`, 1);
    expect(shown(s.store).discarded).toBe(0);
    expect(keyCount(s.store)).toBe(full);
  });
});
