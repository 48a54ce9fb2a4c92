/**
 * Group commit for shared-store writes. Modules record writes as they
 * happen and mark the queue dirty; once per event-loop turn every
 * registered flusher commits what it gathered (one LMDB transaction for
 * all requests of that turn, instead of one per request phase), and only
 * then are the responses that waited on it ended. So no client, on any
 * worker, sees a response before the writes it caused are committed, and
 * under load the cost of a commit is shared by every request of the turn.
 */
export class CommitQueue {
  private readonly flushers: Array<() => void> = [];
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  register(flush: () => void): void {
    this.flushers.push(flush);
  }

  /** Uncommitted writes exist: commit them at the end of this loop turn. */
  dirty(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  /** Runs `fn` once everything recorded so far is committed (at once if nothing is pending). */
  after(fn: () => void): void {
    if (this.scheduled) this.waiting.push(fn);
    else fn();
  }

  /** Commits now, for readers that must see every write made so far ($metric_*_value, the API). */
  flushNow(): void {
    if (this.scheduled) this.run();
  }

  private readonly run = (): void => {
    if (!this.scheduled) return;
    this.scheduled = false;
    for (const flush of this.flushers) flush();
    const waiting = this.waiting.splice(0);
    for (const fn of waiting) fn();
  };
}
