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
import { freshReadTxn, getBytes, openDb, writeTxn, type ReadTxn, type StoreDb, type StoreEnv } from './environment';

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
    private readonly env: StoreEnv,
    private readonly dbi: StoreDb,
    private readonly instance: number,
    private readonly worker: number,
  ) {}

  /** Opens (creating if needed) the records database in `env` for this worker of `instance`. */
  static open(env: StoreEnv, instance: number, worker: number): WorkerRecords {
    return new WorkerRecords(env, writeTxn(env, () => openDb(env, 'status')), instance, worker);
  }

  /** Replaces this worker's record of `kind`. */
  put(kind: RecordKind, json: string): void {
    this.write(() => this.dbi.putSync(recordKey(this.instance, this.worker, kind), Buffer.from(json, 'utf8')));
  }

  /** Every record of `kind` of this instance, by worker id (RETIRED included), read in one snapshot. */
  all(kind: RecordKind): Map<number, string> {
    const txn = freshReadTxn(this.env);
    try {
      return this.collect(kind, txn);
    } finally {
      txn.done();
    }
  }

  /** Records of `kind` of this instance by worker id, read in `txn` (or the write transaction). */
  private collect(kind: RecordKind, txn?: ReadTxn): Map<number, string> {
    const found = new Map<number, string>();
    const code = RECORD_KINDS[kind];
    for (const { key, value } of this.scan(instancePrefix(this.instance), txn)) {
      if (key[8] === code) found.set(key.readUInt32BE(4), value.toString('utf8'));
    }
    return found;
  }

  /**
   * Replaces the instance's shared (worker RETIRED) record of `kind` with
   * `rewrite(records of kind from, that record)`, in one transaction: two
   * workers rewriting it at once never lose each other's change.
   */
  rewriteShared(kind: RecordKind, from: RecordKind, rewrite: (records: Map<number, string>, shared: string | undefined) => string): void {
    this.write(() => {
      const records = this.collect(from);
      const key = recordKey(this.instance, RETIRED, kind);
      const shared = getBytes(this.dbi, key)?.toString('utf8');
      this.dbi.putSync(key, Buffer.from(rewrite(records, shared), 'utf8'));
    });
  }

  /**
   * On a graceful exit: `fold(retired)` adds what this worker counted to
   * the retired record (undefined when there is none yet) and returns it;
   * it is stored and every record of this worker deleted in one
   * transaction, so readers see the totals neither drop nor double.
   */
  retire(kind: RecordKind, fold: (retired: string | undefined) => string): void {
    this.write(() => {
      const retiredKey = recordKey(this.instance, RETIRED, kind);
      const retired = getBytes(this.dbi, retiredKey)?.toString('utf8');
      this.dbi.putSync(retiredKey, Buffer.from(fold(retired), 'utf8'));
      for (const k of Object.keys(RECORD_KINDS) as RecordKind[]) this.dbi.removeSync(recordKey(this.instance, this.worker, k));
    });
  }

  /** Deletes the records of other instances whose master is gone (`alive(pid)` false): a restart's leftovers. */
  prune(alive: (instance: number) => boolean): void {
    this.write(() => {
      const doomed: Buffer[] = [];
      const gone = new Map<number, boolean>();
      for (const { key } of this.scan(Buffer.alloc(0))) {
        const instance = key.readUInt32BE(0);
        if (instance === this.instance) continue;
        if (!gone.has(instance)) gone.set(instance, !alive(instance));
        if (gone.get(instance)) doomed.push(Buffer.from(key));
      }
      for (const key of doomed) this.dbi.removeSync(key);
    });
  }

  /** Nothing to release: the database lives as long as its environment (the store closes that). */
  close(): void {}

  /** One write transaction; a throw inside rolls it back. */
  private write(body: () => void): void {
    writeTxn(this.env, body);
  }

  /** Every record whose key starts with `prefix`, in key order (in `txn`, or the write transaction). */
  private *scan(prefix: Buffer, txn?: ReadTxn): Generator<{ key: Buffer; value: Buffer }> {
    const range = this.dbi.getRange({ start: prefix.length === 0 ? undefined : prefix, transaction: txn });
    for (const { key, value } of range) {
      if (key.length !== KEY_BYTES || !key.subarray(0, prefix.length).equals(prefix)) break;
      yield { key, value };
    }
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
