/**
 * A small ordered key-value face over one named database of the store's
 * LMDB environment, for modules that keep their own shared records (the
 * limit zones, src/limit/). Write transactions are synchronous and LMDB
 * serialises writers across processes, so a read-modify-write inside one
 * is exact across workers. This file is the only LMDB code they rely on.
 */
import { freshReadTxn, getBytes, openDb, writeTxn, type ReadTxn, type StoreDb, type StoreEnv } from './environment';

export interface KvTxn {
  get(key: Buffer): Buffer | null;
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
  /** Visits keys starting with `prefix` in key order until `visit` returns false. */
  scan(prefix: Buffer, visit: (key: Buffer, value: Buffer) => boolean | void): void;
}

/**
 * One transaction's view of the database: `txn` for a read snapshot, none
 * inside a write transaction (lmdb-js routes every call to the current one).
 */
class LmdbKvTxn implements KvTxn {
  constructor(
    private readonly db: StoreDb,
    private readonly txn?: ReadTxn,
  ) {}

  get(key: Buffer): Buffer | null {
    const value = getBytes(this.db, key, this.txn);
    // Copied: the caller may keep it past the next read, which reuses getBytes' buffer.
    return value === undefined ? null : Buffer.from(value);
  }

  put(key: Buffer, value: Buffer): void {
    this.db.putSync(key, value);
  }

  del(key: Buffer): void {
    this.db.removeSync(key);
  }

  scan(prefix: Buffer, visit: (key: Buffer, value: Buffer) => boolean | void): void {
    for (const { key, value } of this.db.getRange({ start: prefix, transaction: this.txn })) {
      if (key.length < prefix.length || key.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) break;
      if (visit(Buffer.from(key), value) === false) break;
    }
  }
}

export class KvDatabase {
  private constructor(
    private readonly env: StoreEnv,
    private readonly db: StoreDb,
  ) {}

  /** Opens (creating if needed) the database `name` in the store's environment. */
  static open(store: { readonly env: StoreEnv }, name: string): KvDatabase {
    return new KvDatabase(store.env, writeTxn(store.env, () => openDb(store.env, name)));
  }

  /** Runs `body` in one write transaction: committed if it returns, rolled back if it throws. */
  write<T>(body: (t: KvTxn) => T): T {
    return writeTxn(this.env, () => body(new LmdbKvTxn(this.db)));
  }

  /** Runs `body` on a snapshot of the newest commit (any worker's). */
  read<T>(body: (t: KvTxn) => T): T {
    const txn = freshReadTxn(this.env);
    try {
      return body(new LmdbKvTxn(this.db, txn));
    } finally {
      txn.done();
    }
  }

  /** Nothing to release: the database lives as long as its environment (the store closes that). */
  close(): void {}
}
