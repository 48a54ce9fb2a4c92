/**
 * A small ordered key-value face over one named database of the store's
 * LMDB environment, for modules that keep their own shared records (the
 * limit zones, src/limit/). Write transactions are synchronous and LMDB
 * serialises writers across processes, so a read-modify-write inside one
 * is exact across workers. This file is the only LMDB code they rely on.
 */
import * as lmdb from 'node-lmdb';
import type { MetricStore } from './lmdb-store';

export interface KvTxn {
  get(key: Buffer): Buffer | null;
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
  /** Visits keys starting with `prefix` in key order until `visit` returns false. */
  scan(prefix: Buffer, visit: (key: Buffer, value: Buffer) => boolean | void): void;
}

class LmdbKvTxn implements KvTxn {
  constructor(
    private readonly txn: lmdb.Txn,
    private readonly dbi: lmdb.Dbi,
  ) {}

  get(key: Buffer): Buffer | null {
    return this.txn.getBinary(this.dbi, key) as Buffer | null;
  }

  put(key: Buffer, value: Buffer): void {
    this.txn.putBinary(this.dbi, key, value);
  }

  del(key: Buffer): void {
    this.txn.del(this.dbi, key);
  }

  scan(prefix: Buffer, visit: (key: Buffer, value: Buffer) => boolean | void): void {
    const cursor = new lmdb.Cursor<Buffer>(this.txn, this.dbi, { keyIsBuffer: true });
    try {
      for (let key = cursor.goToRange(prefix); key !== null; key = cursor.goToNext()) {
        if (key.length < prefix.length || key.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) break;
        if (visit(Buffer.from(key), cursor.getCurrentBinary()!) === false) break;
      }
    } finally {
      cursor.close();
    }
  }
}

export class KvDatabase {
  private constructor(
    private readonly env: lmdb.Env,
    private readonly dbi: lmdb.Dbi,
  ) {}

  /** Opens (creating if needed) the database `name` in the store's environment. */
  static open(store: MetricStore, name: string): KvDatabase {
    return new KvDatabase(store.env, store.env.openDbi({ name, create: true, keyIsBuffer: true }));
  }

  /** Runs `body` in one write transaction: committed if it returns, aborted if it throws. */
  write<T>(body: (t: KvTxn) => T): T {
    const txn = this.env.beginTxn();
    try {
      const out = body(new LmdbKvTxn(txn, this.dbi));
      txn.commit();
      return out;
    } catch (err) {
      txn.abort();
      throw err;
    }
  }

  /** Runs `body` on a read-only snapshot. */
  read<T>(body: (t: KvTxn) => T): T {
    const txn = this.env.beginTxn({ readOnly: true });
    try {
      return body(new LmdbKvTxn(txn, this.dbi));
    } finally {
      txn.abort();
    }
  }

  close(): void {
    this.dbi.close();
  }
}
