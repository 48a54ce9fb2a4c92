import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetLease, type StoreRun } from '../../../src/fleet/lease';
import { KvDatabase } from '../../../src/store/kv';
import { MetricStore } from '../../../src/metric/store/lmdb-store';

let store: MetricStore | undefined;
afterEach(() => store?.close());

/** Two workers' leases (pids 1 and 2) on one real limit database. */
function twoWorkers(): [FleetLease, FleetLease] {
  store = MetricStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'mp-lease-')), []);
  const db = KvDatabase.open(store, 'limit');
  const write: StoreRun = (body) => db.write(body);
  const read: StoreRun = (body) => db.read(body);
  return [new FleetLease(write, read, 1), new FleetLease(write, read, 2)];
}

describe('the fleet lease: one syncing worker per instance', () => {
  it('one holder at a time; another takes over once the holder stops renewing, or at once when it drops it', () => {
    const [a, b] = twoWorkers();
    expect(a.hold(1000)).toBe(true);
    expect(b.hold(1100)).toBe(false);
    expect(a.hold(1250)).toBe(true);
    // a crashed: its last renewal lasts 1.5 s.
    expect(b.hold(2700)).toBe(false);
    expect(b.hold(2800)).toBe(true);
    expect(a.hold(2900)).toBe(false);
    b.drop();
    expect(a.hold(3000)).toBe(true);
  });
});
