/**
 * Per-worker records in the metric store's LMDB environment: each worker
 * process writes ABSOLUTE snapshots of its own counters (status counters,
 * process metrics) under its own key, and readers sum what they find. A
 * worker therefore never contends with another on a shared counter, and a
 * snapshot costs one small write transaction however much traffic it sums.
 *
 * Layout: one database `status`, keys of 9 bytes
 *   [instance u32 BE][worker u32 BE][kind u8]
 * where `instance` is the master's pid (so a restart starts from zero while
 * a reload keeps counting), `worker` the worker's pid, and `kind` says what
 * the record holds. Worker 0 is the instance's retired record: what workers
 * that exited gracefully had counted; its `baseline` kind holds what API
 * resets subtract (src/status/reset.ts). Values are UTF-8 JSON; this file does
 * not know their shape (see src/status/snapshot.ts).
 */
import * as lmdb from 'node-lmdb';

const RECORD_KINDS = { status: 0, process: 1, baseline: 2 } as const;
export type RecordKind = keyof typeof RECORD_KINDS;

/** The worker id of an instance's retired record. */
export const RETIRED = 0;

const KEY_BYTES = 9;

function recordKey(instance: number, worker: number, kind: RecordKind): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  key.writeUInt32BE(instance, 0);
  key.writeUInt32BE(worker, 4);
  key.writeUInt8(RECORD_KINDS[kind], 8);
  return key;
}

function instancePrefix(instance: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(instance, 0);
  return prefix;
}

export class WorkerRecords {
  private constructor(
    private readonly env: lmdb.Env,
    private readonly dbi: lmdb.Dbi,
    private readonly instance: number,
    private readonly worker: number,
  ) {}

  /** Opens (creating if needed) the records database in `env` for this worker of `instance`. */
  static open(env: lmdb.Env, instance: number, worker: number): WorkerRecords {
    const dbi = env.openDbi({ name: 'status', create: true, keyIsBuffer: true });
    return new WorkerRecords(env, dbi, instance, worker);
  }

  /** Replaces this worker's record of `kind`. */
  put(kind: RecordKind, json: string): void {
    this.write((txn) => txn.putBinary(this.dbi, recordKey(this.instance, this.worker, kind), Buffer.from(json, 'utf8')));
  }

  /** Every record of `kind` of this instance, by worker id (RETIRED included), read in one snapshot. */
  all(kind: RecordKind): Map<number, string> {
    const txn = this.env.beginTxn({ readOnly: true });
    try {
      return this.collect(txn, kind);
    } finally {
      txn.abort();
    }
  }

  private collect(txn: lmdb.Txn, kind: RecordKind): Map<number, string> {
    const found = new Map<number, string>();
    const code = RECORD_KINDS[kind];
    this.scan(txn, instancePrefix(this.instance), (key, cursor) => {
      if (key[8] === code) found.set(key.readUInt32BE(4), cursor.getCurrentBinary()!.toString('utf8'));
    });
    return found;
  }

  /**
   * Replaces the instance's shared (worker RETIRED) record of `kind` with
   * `rewrite(records of kind from, that record)`, in one transaction: two
   * workers rewriting it at once never lose each other's change.
   */
  rewriteShared(kind: RecordKind, from: RecordKind, rewrite: (records: Map<number, string>, shared: string | undefined) => string): void {
    this.write((txn) => {
      const records = this.collect(txn, from);
      const key = recordKey(this.instance, RETIRED, kind);
      const shared = txn.getBinary(this.dbi, key) as Buffer | null;
      txn.putBinary(this.dbi, key, Buffer.from(rewrite(records, shared?.toString('utf8')), 'utf8'));
    });
  }

  /**
   * On a graceful exit: `fold(retired)` adds what this worker counted to
   * the retired record (undefined when there is none yet) and returns it;
   * it is stored and every record of this worker deleted in one
   * transaction, so readers see the totals neither drop nor double.
   */
  retire(kind: RecordKind, fold: (retired: string | undefined) => string): void {
    this.write((txn) => {
      const retiredKey = recordKey(this.instance, RETIRED, kind);
      const retired = txn.getBinary(this.dbi, retiredKey) as Buffer | null;
      txn.putBinary(this.dbi, retiredKey, Buffer.from(fold(retired?.toString('utf8')), 'utf8'));
      for (const k of Object.keys(RECORD_KINDS) as RecordKind[]) {
        const key = recordKey(this.instance, this.worker, k);
        if (txn.getBinary(this.dbi, key) !== null) txn.del(this.dbi, key);
      }
    });
  }

  /** Deletes the records of other instances whose master is gone (`alive(pid)` false): a restart's leftovers. */
  prune(alive: (instance: number) => boolean): void {
    this.write((txn) => {
      const doomed: Buffer[] = [];
      const gone = new Map<number, boolean>();
      this.scan(txn, Buffer.alloc(0), (key) => {
        const instance = key.readUInt32BE(0);
        if (instance === this.instance) return;
        if (!gone.has(instance)) gone.set(instance, !alive(instance));
        if (gone.get(instance)) doomed.push(Buffer.from(key));
      });
      for (const key of doomed) txn.del(this.dbi, key);
    });
  }

  close(): void {
    this.dbi.close();
  }

  private write(body: (txn: lmdb.Txn) => void): void {
    const txn = this.env.beginTxn();
    try {
      body(txn);
      txn.commit();
    } catch (err) {
      txn.abort();
      throw err;
    }
  }

  /** Visits every key starting with `prefix`, in key order. */
  private scan(txn: lmdb.Txn, prefix: Buffer, visit: (key: Buffer, cursor: lmdb.Cursor<Buffer>) => void): void {
    const cursor = new lmdb.Cursor<Buffer>(txn, this.dbi, { keyIsBuffer: true });
    try {
      const first = prefix.length === 0 ? cursor.goToFirst() : cursor.goToRange(prefix);
      for (let key = first; key !== null; key = cursor.goToNext()) {
        if (key.length !== KEY_BYTES || !key.subarray(0, prefix.length).equals(prefix)) break;
        visit(key, cursor);
      }
    } finally {
      cursor.close();
    }
  }
}
