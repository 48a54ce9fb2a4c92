/**
 * What the store reports about itself: commits, failed commits and lost
 * updates (summed over every worker, kept in the store), and how full its
 * data file is against the configured size (`metric_store PATH size=`).
 *
 * lmdb-js grows LMDB's map on demand, so LMDB never says "map full" by
 * itself: the size is enforced here. The data file's used bytes (LMDB's
 * last page) are read at most every CHECK_EVERY_MS; while they are at the
 * size, updates that would add a key are lost (counted), updates to keys
 * already stored still commit (they reuse freed pages). A commit that fails
 * (disk full, I/O error) loses its whole batch, counted the same way; the
 * next batch tries again, so writing resumes as soon as the cause clears.
 */
import { getBytes, type StoreDb, type StoreEnv } from '../../store/environment';

/** How often the used size is read (a native call of ~10 µs), and how often the counts are written. */
export const CHECK_EVERY_MS = 100;
/**
 * Each failure cause is logged once per episode; an episode ends with a commit this long after its
 * last failure (a nearly full disk lets some commits through between failures: no flapping log).
 */
const RECOVERED_AFTER_MS = 10_000;
/** Used bytes at or over this share of the size: warn once. */
const NEARLY_FULL = 0.9;

const STATS_KEY = Buffer.from('s');
const SLOTS = { commits: 0, failures: 1, lostUpdates: 2 } as const;

export interface StoreReport {
  commits: number;
  failures: number;
  lostUpdates: number;
  usedBytes: number;
  sizeBytes: number;
}

/** One log line for the operator; `level` is an error-log level (crit, warn, notice). */
export type StoreLog = (level: string, text: string) => void;

export class StoreHealth {
  /** This worker's counts not yet folded into the stored ones. */
  private readonly pending = new Float64Array(3);
  private readonly stored = new Float64Array(3);
  private readonly storedBytes = Buffer.from(this.stored.buffer);
  private lastWriteMs = 0;
  private lastCheckMs = -Infinity;
  private used = 0;
  /** Updates that would add a key are refused while true. */
  full = false;
  private warnedNearlyFull = false;
  /** The failure causes of the current episode, each logged once; empty while commits succeed. */
  private readonly failing = new Set<string>();
  private lastFailureMs = 0;
  /** Lost updates counted before the current batch: a batch that fails is counted whole, once. */
  private lostBefore = 0;
  private readonly pageSize: number;

  constructor(
    private readonly env: StoreEnv,
    private readonly metaDbi: StoreDb,
    readonly file: string,
    readonly sizeBytes: number,
    private readonly log: StoreLog,
  ) {
    this.pageSize = (env.getStats() as { pageSize: number }).pageSize;
  }

  /** Before a batch: re-reads the used size when due (always while full, so room is seen at once). */
  check(nowMs: number): void {
    this.lostBefore = this.pending[SLOTS.lostUpdates];
    if (!this.full && nowMs - this.lastCheckMs < CHECK_EVERY_MS) return;
    this.lastCheckMs = nowMs;
    this.used = this.measure();
    const wasFull = this.full;
    this.full = this.used >= this.sizeBytes;
    const share = `${this.used} of ${this.sizeBytes} bytes`;
    if (this.full && !wasFull) {
      this.log('crit', `metric store "${this.file}" is full (${share}): updates that add keys are lost until it has room; raise size= in metric_store`);
    } else if (!this.full && wasFull) {
      this.log('notice', `metric store "${this.file}" has room again (${share})`);
    }
    if (!this.full && this.used >= NEARLY_FULL * this.sizeBytes && !this.warnedNearlyFull) {
      this.log('warn', `metric store "${this.file}" is nearly full (${share}); raise size= in metric_store`);
    }
    this.warnedNearlyFull = this.used >= NEARLY_FULL * this.sizeBytes;
  }

  /** An update refused because the store is full. */
  refused(): void {
    this.pending[SLOTS.lostUpdates]++;
  }

  /** Inside a batch's write transaction: folds the pending counts (and this commit) into the stored ones, when due. */
  writeCounts(nowMs: number): boolean {
    if (nowMs - this.lastWriteMs < CHECK_EVERY_MS) return false;
    this.readStored();
    for (let i = 0; i < this.stored.length; i++) this.stored[i] += this.pending[i];
    this.stored[SLOTS.commits]++;
    this.metaDbi.putSync(STATS_KEY, this.storedBytes);
    return true;
  }

  /** After a batch committed; `wroteCounts`: the pending counts went with it. */
  committed(nowMs: number, wroteCounts: boolean): void {
    if (wroteCounts) {
      this.pending.fill(0);
      this.lastWriteMs = nowMs;
    } else {
      this.pending[SLOTS.commits]++;
    }
    if (this.failing.size === 0 || nowMs - this.lastFailureMs < RECOVERED_AFTER_MS) return;
    this.failing.clear();
    this.log('notice', `metric store "${this.file}": commits succeed again`);
  }

  /** A batch of `updates` updates that did not commit: counted, and logged once per cause. */
  failed(err: unknown, updates: number, nowMs: number): void {
    this.lastFailureMs = nowMs;
    this.pending[SLOTS.failures]++;
    this.pending[SLOTS.lostUpdates] = this.lostBefore + updates;
    // lmdb-js appends positions and addresses after a colon: the cause is what comes first.
    const reason = ((err as Error)?.message ?? String(err)).split(':')[0];
    if (this.failing.has(reason)) return;
    this.failing.add(reason);
    this.log('crit', `metric store "${this.file}": commit failed (${reason}); its updates are lost, the next ones will be tried`);
  }

  /** The counts of every worker as stored, plus this worker's pending ones (read in the caller's snapshot). */
  report(read: (db: StoreDb, key: Buffer) => Buffer | undefined): StoreReport {
    const stored = read(this.metaDbi, STATS_KEY);
    const sum = new Float64Array(3);
    if (stored !== undefined && stored.length === this.storedBytes.length) Buffer.from(sum.buffer).set(stored);
    for (let i = 0; i < sum.length; i++) sum[i] += this.pending[i];
    return {
      commits: sum[SLOTS.commits],
      failures: sum[SLOTS.failures],
      lostUpdates: sum[SLOTS.lostUpdates],
      usedBytes: this.measure(),
      sizeBytes: this.sizeBytes,
    };
  }

  /** The data file's used bytes: LMDB's last page (its high-water mark; freed pages are reused below it). */
  private measure(): number {
    const info = (this.env as unknown as { env: { info(): { lastPageNumber: number } } }).env.info();
    return (info.lastPageNumber + 1) * this.pageSize;
  }

  private readStored(): void {
    const stored = getBytes(this.metaDbi, STATS_KEY);
    if (stored !== undefined && stored.length === this.storedBytes.length) this.storedBytes.set(stored);
    else this.stored.fill(0);
  }
}
