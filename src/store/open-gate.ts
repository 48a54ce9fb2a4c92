/**
 * Why the store has a gate: lmdb-js's LMDB (its 3.x fork, mdb_env_open2)
 * sets the lock file's "newest transaction" counter from the meta page the
 * opening process read, without the writer lock:
 *
 *     if (env->me_txns) env->me_txns->mti_txnid = meta.mm_txnid;
 *
 * Upstream LMDB sets it only when the opener is alone (mdb_env_share_locks).
 * A commit by another process between that read and that store puts the
 * counter back; the next writer then builds on an older snapshot, and the
 * next process to open jumps back to the newest meta page: every commit in
 * between is gone, with no error anywhere. A worker opening the store while
 * the others write (start, respawn, reload) is exactly that; three writers
 * and a process opening and closing the store beside them lost commits in
 * 3 of 10 rounds (test/unit/metric/store-processes.test.ts now checks it).
 *
 * The gate is a second, tiny environment in `<store>/gate` that never
 * commits. Its writer lock, taken by a write transaction that is always
 * aborted, is held by every commit to the store and by every open of it, so
 * an open never overlaps a commit. Since the gate never commits, the same
 * race on its own counter changes nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ABORT, open, type RootDatabase } from 'lmdb';

export class OpenGate {
  private constructor(private readonly env: RootDatabase) {}

  static open(storeDir: string): OpenGate {
    const dir = path.join(storeDir, 'gate');
    fs.mkdirSync(dir, { recursive: true });
    return new OpenGate(open({ path: dir, noSubdir: false, mapSize: 1 << 20, maxDbs: 1, noSync: true, useWritemap: true }));
  }

  /** Runs `body` holding the gate (the store's other processes wait meanwhile). */
  hold<T>(body: () => T): T {
    // Set before the abort: transactionSync returns only after body() did (it rethrows what body throws).
    let result!: T;
    this.env.transactionSync(() => {
      result = body();
      return ABORT;
    });
    return result;
  }

  close(): Promise<void> {
    return this.env.close();
  }
}
