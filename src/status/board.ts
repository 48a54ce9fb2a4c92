import { RETIRED, type WorkerRecords } from '../store/worker-records';
import { markReset, parseBaseline, ResetBranch, subtractResets } from './reset';
import { retireInto, StatusCounts, StatusRecord, sumRecords } from './snapshot';

/** How often a worker writes its snapshot: what another worker's API answer may lag behind. */
export const FLUSH_EVERY_MS = 100;
/**
 * An unchanged snapshot is skipped, but rewritten at least this often so
 * readers keep seeing the worker as live (well inside STALE_AFTER_MS).
 */
export const HEARTBEAT_MS = 300;

/**
 * Moves one worker's counts through the store: writes them on a timer and
 * right before this worker answers a status request, sums everyone's for
 * the answer, and folds them into the retired record on exit.
 */
export class StatusBoard {
  private records: WorkerRecords | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastCounts = '';
  private lastWriteMs = 0;
  /** Reported once per failure kind so a broken store cannot flood the error log. */
  private lastError = '';

  constructor(private readonly counts: (nowMs: number) => StatusCounts) {}

  open(records: WorkerRecords): void {
    this.records = records;
    this.flush(Date.now());
    this.timer = setInterval(() => this.flushQuietly(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  /** Writes this worker's snapshot if it changed or the heartbeat is due. */
  flush(nowMs: number): void {
    if (this.records === undefined) return;
    const counts = JSON.stringify(this.counts(nowMs));
    if (counts === this.lastCounts && nowMs - this.lastWriteMs < HEARTBEAT_MS) return;
    // Composed by hand so the counts are serialised once per tick.
    this.records.put('status', `{"beat":${nowMs},"pid":${process.pid},"counts":${counts}}`);
    this.lastCounts = counts;
    this.lastWriteMs = nowMs;
  }

  /** Every worker's counts summed, this worker's own exact as of `nowMs`. */
  read(nowMs: number): StatusCounts {
    if (this.records === undefined) return sumRecords([{ beat: nowMs, counts: this.counts(nowMs) }], nowMs);
    this.flush(nowMs);
    const total = sumRecords(parseRecords(this.records.all('status')), nowMs);
    const baseline = this.records.all('baseline').get(RETIRED);
    return baseline === undefined ? total : subtractResets(total, parseBaseline(baseline));
  }

  /**
   * API DELETE of a zone or an upstream's peers: what every worker counted
   * so far (this one's written first) becomes the baseline readers subtract.
   */
  reset(branch: ResetBranch, name: string): void {
    const records = this.records;
    if (records === undefined) return;
    const nowMs = Date.now();
    this.flush(nowMs);
    records.rewriteShared('baseline', 'status', (all, shared) => {
      const sum = sumRecords(parseRecords(all), nowMs);
      return JSON.stringify(markReset(shared === undefined ? undefined : parseBaseline(shared), sum, branch, name));
    });
  }

  /** On exit: this worker's cumulative counts move into the retired record, its gauges leave with it. */
  close(): void {
    clearInterval(this.timer);
    const records = this.records;
    if (records === undefined) return;
    this.records = undefined;
    const own: StatusRecord = { beat: 0, counts: this.counts(Date.now()) };
    records.retire('status', (retired) => JSON.stringify(retireInto(retired === undefined ? undefined : JSON.parse(retired), own)));
  }

  private flushQuietly(): void {
    try {
      this.flush(Date.now());
    } catch (e) {
      const msg = `status store: ${(e as Error)?.message ?? String(e)}`;
      if (msg === this.lastError) return;
      this.lastError = msg;
      process.emitWarning(msg);
    }
  }
}

function parseRecords(records: Map<number, string>): StatusRecord[] {
  return [...records.values()].map((json) => JSON.parse(json) as StatusRecord);
}
