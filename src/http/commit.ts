/**
 * Group commit for shared-store writes. Modules record writes as they
 * happen and mark the queue dirty; once per event-loop turn every
 * registered flusher commits what it gathered (one LMDB transaction for
 * all requests of that turn, instead of one per request phase), and only
 * then are the responses that waited on it ended. So no client, on any
 * worker, sees a response before the writes it caused are committed, and
 * under load the cost of a commit is shared by every request of the turn.
 *
 * Writes nobody waits for yet (a request's on=request updates while its
 * upstream answers) are marked with dirtyLater: they go with the next
 * commit someone waits for, at the latest LATER_MS later. At low load that
 * is one commit per request instead of two, and the one left is not on
 * the way of the upstream's answer (bench/results/metric-latency.md).
 */
/** The longest a write nobody waits for stays uncommitted (readers on other workers see it that late). */
const LATER_MS = 1;

export class CommitQueue {
  private readonly flushers: Array<() => void> = [];
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;
  private laterTimer: NodeJS.Timeout | undefined;

  register(flush: () => void): void {
    this.flushers.push(flush);
  }

  /** Uncommitted writes exist: commit them at the end of this loop turn. */
  dirty(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  /** Uncommitted writes that no response or decision waits for: commit them soon, with the next commit if one comes first. */
  dirtyLater(): void {
    if (this.scheduled || this.laterTimer !== undefined) return;
    this.laterTimer = setTimeout(this.run, LATER_MS);
  }

  /** Runs `fn` once everything recorded so far is committed (at once if nothing is pending). */
  after(fn: () => void): void {
    if (this.laterTimer !== undefined) this.dirty();
    if (this.scheduled) this.waiting.push(fn);
    else fn();
  }

  /** Commits now, for readers that must see every write made so far ($metric_*_value, the API). */
  flushNow(): void {
    if (this.scheduled || this.laterTimer !== undefined) this.run();
  }

  private readonly run = (): void => {
    // An immediate left from a commit flushNow already made, with nothing new since.
    if (!this.scheduled && this.laterTimer === undefined) return;
    clearTimeout(this.laterTimer);
    this.laterTimer = undefined;
    this.scheduled = false;
    for (const flush of this.flushers) flush();
    const waiting = this.waiting.splice(0);
    for (const fn of waiting) fn();
  };
}
