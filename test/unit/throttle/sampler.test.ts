import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMetricZone } from '../../../src/metric/directives';
import { KvDatabase, type KvTxn } from '../../../src/store/kv';
import { MetricStore } from '../../../src/metric/store/lmdb-store';
import type { ThrottleZoneDef } from '../../../src/throttle/config';
import { ThrottleRecords } from '../../../src/throttle/record';
import { Sampler } from '../../../src/throttle/sampler';

let store: MetricStore | undefined;
afterEach(() => store?.close());

const SEC = 1000;
const def: ThrottleZoneDef = {
  name: 't', size: 1 << 20, watch: { zone: 'lat', file: 'x', line: 1 }, above: 0.5, samples: 3, intervalMs: SEC,
  limit: { maxConcurrency: 4 }, ttlMs: 60 * SEC, recover: { below: 0.3, samples: 2 }, exempt: new Set(['ops']), status: 429, file: 'x', line: 1,
};

/** A real store with a `last` metric zone `lat`, the throttle records, and a sampler acting as `pid`. */
function setup() {
  const zone = parseMetricZone({ name: 'metric_zone', args: ['lat:1m', 'last'], quoted: [false, false], file: 'x', line: 1 });
  store = MetricStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'mp-throttle-')), [zone]);
  const db = KvDatabase.open(store, 'limit');
  const recs = new ThrottleRecords('t');
  const transact = <T>(body: (t: KvTxn) => T) => db.write(body);
  const sampler = (pid: number) => new Sampler(def, recs, transact, pid);
  const set = (values: Record<string, number>) => store!.applyBatch(Object.entries(values).map(([key, value]) => ({ zone: 'lat', key, value })));
  const state = (key: string) => db.read((t) => recs.get(t, key));
  return { recs, db, sampler, set, state, store: store! };
}

describe('throttle sampler', () => {
  it('throttles after `samples` consecutive breaches, not before', () => {
    const { sampler, set, state, store } = setup();
    const s = sampler(1);
    set({ a: 0.9, b: 0.1 });
    expect(s.tick(store, 0 * SEC)).toEqual([]);
    expect(s.tick(store, 1 * SEC)).toEqual([]);
    const [tr] = s.tick(store, 2 * SEC);
    expect(tr).toMatchObject({ key: 'a', from: 'NONE', to: 'AUTO_THROTTLED', samples: [0.9, 0.9, 0.9] });
    expect(state('a')).toMatchObject({ state: 'AUTO_THROTTLED', source: 'auto', limit: { maxConcurrency: 4 }, expires: 62 * SEC, triggers: 1, version: 1 });
    expect(state('b')).toBeUndefined();
  });

  it('a metric alternating above and below never triggers', () => {
    const { sampler, set, state, store } = setup();
    const s = sampler(1);
    for (let i = 0; i < 20; i++) {
      set({ a: i % 2 === 0 ? 0.9 : 0.1 });
      expect(s.tick(store, i * SEC)).toEqual([]);
    }
    expect(state('a')).toBeUndefined();
  });

  it('an exempt key is alerted on, never throttled', () => {
    const { sampler, set, state, store } = setup();
    const s = sampler(1);
    set({ ops: 0.9 });
    const all = [0, 1, 2].flatMap((i) => s.tick(store, i * SEC));
    expect(all).toMatchObject([{ key: 'ops', to: 'ALERTED' }]);
    expect(state('ops')).toBeUndefined();
  });

  it('recovers after `recover samples` below, and a repeat within one TTL counts up triggers', () => {
    const { sampler, set, state, store } = setup();
    const s = sampler(1);
    set({ a: 0.9 });
    [0, 1, 2].forEach((i) => s.tick(store, i * SEC));
    set({ a: 0.2 });
    expect(s.tick(store, 3 * SEC)).toEqual([]);
    expect(s.tick(store, 4 * SEC)).toMatchObject([{ key: 'a', from: 'AUTO_THROTTLED', to: 'RECOVERED', samples: [0.2, 0.2] }]);
    expect(state('a')).toMatchObject({ state: 'RECOVERED', ended: 4 * SEC, version: 2 });
    set({ a: 0.9 });
    [5, 6, 7].forEach((i) => s.tick(store, i * SEC));
    expect(state('a')).toMatchObject({ state: 'AUTO_THROTTLED', triggers: 2, version: 3 });
  });

  it('ends a throttle at its TTL (EXPIRED) and forgets it one TTL later', () => {
    const { sampler, set, state, store } = setup();
    const s = sampler(1);
    set({ a: 0.9 });
    [0, 1, 2].forEach((i) => s.tick(store, i * SEC));
    set({ a: 0.4 });
    expect(s.tick(store, 62 * SEC)).toMatchObject([{ key: 'a', to: 'EXPIRED' }]);
    s.tick(store, 121 * SEC);
    expect(state('a')).toMatchObject({ state: 'EXPIRED' });
    s.tick(store, 122 * SEC);
    expect(state('a')).toBeUndefined();
  });

  it('samples in one worker only: the lease holder, taken over once stale or dropped', () => {
    const { sampler, set, state, store, recs, db } = setup();
    const first = sampler(1);
    const second = sampler(2);
    set({ a: 0.9 });
    first.tick(store, 0);
    for (let i = 0; i < 3; i++) second.tick(store, i * SEC);
    expect(state('a')).toBeUndefined();
    // The first holder stopped renewing: its lease ends after two intervals and a second.
    second.tick(store, 3001);
    second.tick(store, 4001);
    expect(second.tick(store, 5001)).toMatchObject([{ key: 'a', to: 'AUTO_THROTTLED' }]);
    second.dropLease();
    expect(db.read((t) => recs.lease(t))).toBeUndefined();
    expect(first.tick(store, 5002)).toEqual([]);
    expect(db.read((t) => recs.lease(t))).toMatchObject({ pid: 1 });
  });
});
