import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { inChunks, withRequests } from '../../../src/fleet/req-sync';
import { isNewer } from '../../../src/fleet/throttle-sync';
import { ComplexValue, VariableRegistry } from '../../../src/http/variables';
import { currentLevel, excessAfter, setLevel } from '../../../src/limit/req-bucket';
import { decide } from '../../../src/limit/req-decide';
import { SharedZone } from '../../../src/limit/shared-zone';
import { KvDatabase } from '../../../src/store/kv';
import { limitWrite as write } from '../../helpers/limit-store';
import { MetricStore } from '../../../src/metric/store/lmdb-store';
import type { KeyRecord } from '../../../src/throttle/record';

let store: MetricStore | undefined;
afterEach(() => store?.close());

/** 10 r/s in thousandths, as limit_req keeps rates. */
const RATE = 10_000;

function openZone(): { db: KvDatabase; zone: SharedZone } {
  store = MetricStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'mp-fleet-')), []);
  const key = ComplexValue.compile('$arg_k', new VariableRegistry(), 'test', 1);
  return { db: KvDatabase.open(store, 'limit'), zone: new SharedZone({ kind: 'limit_req', name: 'z', size: 1 << 20, key, rate: RATE }) };
}


describe('the fleet bucket arithmetic', () => {
  it('n requests charged at once equal nginx accounting them one by one at that instant', () => {
    fc.assert(fc.property(fc.integer({ min: -1000, max: 1_000_000 }), fc.nat(50), (level, n) => {
      let e = level;
      for (let i = 0; i < n; i++) e = excessAfter(e, RATE, 0);
      expect(withRequests(level, n)).toBe(e);
    }));
  });

  it('a level set by the sync is what the bucket decides on: the fleet full, a key is refused; its credit kept', () => {
    const { db, zone } = openZone();
    const limit = { zone, rate: RATE, burst: 2000, delay: Number.MAX_SAFE_INTEGER };
    const stored = zone.storedKey('tenant');
    const now = 1_000_000;
    // The other instances filled the bucket to its burst: this instance refuses the key at once.
    write(db, (tx) => setLevel(tx.t, limit, tx.meta(zone), stored, 2000, now));
    expect(write(db, (tx) => decide(tx, [limit], ['tenant'], now).kind)).toBe('rejected');
    // 100 ms later (one request at 10 r/s) it has room for one.
    expect(write(db, (tx) => decide(tx, [limit], ['tenant'], now + 100).kind)).toBe('passed');
    // A negative level (a drained key's credit) is kept as an earlier last request.
    write(db, (tx) => setLevel(tx.t, limit, tx.meta(zone), stored, -600, now + 200));
    expect(db.read((t) => currentLevel(t, zone, RATE, stored, now + 200))).toBe(-600);
    expect(db.read((t) => currentLevel(t, zone, RATE, stored, now + 10_000))).toBe(-1000);
  });

  it('a drained key gets no node; a zone without sync counts nothing beside its buckets', () => {
    const { db, zone } = openZone();
    const limit = { zone, rate: RATE, burst: 0, delay: 0 };
    write(db, (tx) => setLevel(tx.t, limit, tx.meta(zone), zone.storedKey('idle'), -1000, 5));
    const nodes = () => db.read((t) => {
      let n = 0;
      zone.scanRecords(t, () => void n++);
      return n;
    });
    expect(nodes()).toBe(0);
    write(db, (tx) => setLevel(tx.t, limit, tx.meta(zone), zone.storedKey('busy'), 0, 5));
    expect(nodes()).toBe(1);
    const seen: string[] = [];
    write(db, (tx) => decide(tx, [limit], ['k'], 10));
    zone.onAccept = (stored) => void seen.push(stored.subarray(1).toString('latin1'));
    write(db, (tx) => decide(tx, [limit], ['k'], 500));
    expect(seen).toEqual(['k']);
  });
});

describe('the deltas sent to Redis', () => {
  it('go in calls of at most 2,000 keys, and a period without any still makes one call (it reads the fleet back)', () => {
    expect(inChunks([])).toEqual([[]]);
    expect(inChunks(Array.from({ length: 4500 }, (_, i) => i)).map((c) => c.length)).toEqual([2000, 2000, 500]);
  });
});

describe('throttle records across instances', () => {
  const rec = (since: number, ended: number, version: number) => ({ since, ended, version }) as KeyRecord;
  it('the later change of a key wins: its end, else its start, then its version', () => {
    expect(isNewer(rec(10, 0, 1), rec(5, 0, 9))).toBe(true);
    expect(isNewer(rec(5, 20, 2), rec(10, 0, 1))).toBe(true);
    expect(isNewer(rec(10, 0, 1), rec(5, 20, 2))).toBe(false);
    expect(isNewer(rec(10, 0, 3), rec(10, 0, 2))).toBe(true);
    expect(isNewer(rec(10, 0, 2), rec(10, 0, 2))).toBe(false);
  });
});
