import { LimitTxn } from '../../src/limit/space';
import type { KvDatabase } from '../../src/store/kv';

/** One write transaction of the limit database, as LimitSpace runs them: the metas written back at the end. */
export function limitWrite<T>(db: KvDatabase, body: (tx: LimitTxn) => T): T {
  return db.write((t) => {
    const tx = new LimitTxn(t);
    const out = body(tx);
    tx.commitMetas();
    return out;
  });
}
