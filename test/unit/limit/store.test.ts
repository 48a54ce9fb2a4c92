import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ComplexValue, VariableRegistry } from '../../../src/http/variables';
import { acquire, release, sweepDeadHolders } from '../../../src/limit/conn-slots';
import { decide } from '../../../src/limit/req-decide';
import { SharedZone } from '../../../src/limit/shared-zone';
import { KvDatabase } from '../../../src/store/kv';
import { limitWrite as write } from '../../helpers/limit-store';
import { MetricStore } from '../../../src/metric/store/lmdb-store';

let store: MetricStore | undefined;
afterEach(() => store?.close());

/** A real store in a temp dir, and the limit database in it. */
function openDb(): KvDatabase {
  store = MetricStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'mp-limit-')), []);
  return KvDatabase.open(store, 'limit');
}

function zone(kind: 'limit_req' | 'limit_conn', size: number): SharedZone {
  const key = ComplexValue.compile('$arg_k', new VariableRegistry(), 'test', 1);
  return new SharedZone({ kind, name: 'z', size, key, rate: 1000 });
}


const records = (db: KvDatabase, z: SharedZone) => db.read((t) => {
  let n = 0;
  z.scanRecords(t, () => void n++);
  return n;
});

describe('limit zones in a real store', () => {
  it('a flood of distinct keys keeps a limit_req zone bounded, dropping the least recently used', () => {
    const db = openDb();
    const z = zone('limit_req', 32 * 1024);
    const limit = [{ zone: z, rate: 1000, burst: 0, delay: 0 }];
    const now = Date.now();
    for (let i = 0; i < 2_000; i += 500) {
      write(db, (tx) => {
        for (let k = i; k < i + 500; k++) expect(decide(tx, limit, [`key-${k}`], now).kind).toBe('passed');
      });
    }
    expect(records(db, z)).toBe(222);
    const used = db.read((t) => z.readMeta(t))[0];
    expect(used).toBeLessThanOrEqual(z.capacity);
    // The newest key is still limited; the oldest was dropped and starts afresh.
    write(db, (tx) => expect(decide(tx, limit, ['key-1999'], now).kind).toBe('rejected'));
    write(db, (tx) => expect(decide(tx, limit, ['key-0'], now).kind).toBe('passed'));
  });

  it('a full limit_conn zone refuses new keys as exhausted, and released slots free it', () => {
    const db = openDb();
    const z = zone('limit_conn', 32 * 1024);
    const limits = [{ zone: z, conn: 1 }];
    const decisions = write(db, (tx) => Array.from({ length: 500 }, (_, k) => acquire(tx, limits, [`c-${k}`], process.pid)));
    const kinds = decisions.map((d) => d.kind);
    expect(kinds.filter((k) => k === 'passed')).toHaveLength(445);
    expect(kinds.filter((k) => k === 'exhausted')).toHaveLength(55);
    write(db, (tx) => decisions.forEach((d) => 'held' in d && release(tx, d.held, process.pid)));
    expect(records(db, z)).toBe(0);
    expect(db.read((t) => z.readMeta(t))[0]).toBe(0);
  });

  it('slots held by a worker that no longer exists are swept at start', () => {
    const db = openDb();
    const z = zone('limit_conn', 32 * 1024);
    const limits = [{ zone: z, conn: 1 }];
    write(db, (tx) => acquire(tx, limits, ['k'], 4_000_000));
    write(db, (tx) => expect(acquire(tx, limits, ['k'], process.pid).kind).toBe('rejected'));
    write(db, (tx) => sweepDeadHolders(tx, z, (pid) => pid !== 4_000_000));
    write(db, (tx) => expect(acquire(tx, limits, ['k'], process.pid).kind).toBe('passed'));
  });
});
