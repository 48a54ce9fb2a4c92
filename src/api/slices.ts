/**
 * Long renders (a 100,000-key zone as JSON or Prometheus text) run on the
 * worker that also proxies. Written as generators that `yield` at points
 * where they may pause, they run in slices of a few milliseconds with the
 * event loop served in between (setImmediate), all from one read snapshot:
 * proxied requests wait at most one slice, not the whole render.
 */

/** A computation that may pause at each `yield` and returns T at the end. */
export type Sliced<T> = Generator<void, T, void>;

/** How often the clock is read: every this many `due()` calls. */
const CHECK_EVERY = 64;

/** Tells a sliced walk when its slice is used up. */
export class Slice {
  private calls = 0;
  private deadline = Infinity;

  constructor(private readonly budgetMs: number) {}

  /** Starts a new slice now. */
  start(): void {
    this.deadline = this.budgetMs === Infinity ? Infinity : performance.now() + this.budgetMs;
  }

  /** Whether the walk should yield now; cheap enough to call once per child. */
  due(): boolean {
    if (++this.calls % CHECK_EVERY !== 0) return false;
    return performance.now() >= this.deadline;
  }
}

/** A slice that never ends: the work runs in one go (unit tests, small answers). */
export const UNSLICED = new Slice(Infinity);

/** Runs `work` to the end at once. */
export function runNow<T>(work: Sliced<T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs `work` in slices, yielding the event loop between them. `aborted()`
 * is asked between slices: when true, the work is dropped (its generator's
 * finally blocks run) and undefined returned.
 */
export function runSliced<T>(work: Sliced<T>, slice: Slice, aborted: () => boolean = () => false): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const step = (): void => {
      try {
        if (aborted()) {
          work.return(undefined as T);
          resolve(undefined);
          return;
        }
        slice.start();
        const next = work.next();
        if (next.done) resolve(next.value);
        else setImmediate(step);
      } catch (err) {
        reject(err);
      }
    };
    step();
  });
}

/** A sink's first chunk (most answers are small) and the size its chunks double up to. */
const FIRST_CHUNK = 4096;
const MAX_CHUNK = 1 << 20;
const PENDING_CHARS = 4096;

/**
 * Collects a render's text as UTF-8 bytes, written straight into Buffer
 * chunks: the short strings a render makes die young, where a growing
 * string (or an array of them) would keep every piece alive until the end
 * and make the render mostly garbage collection. Any amount of text fits.
 */
export class ByteSink {
  private readonly full: Buffer[] = [];
  private chunk = Buffer.alloc(0);
  private pos = 0;
  /** Short texts are joined first and written a few KiB at a time: one copy call per batch, not per text. */
  private pending = '';

  add(text: string): void {
    this.pending += text;
    if (this.pending.length >= PENDING_CHARS) this.write();
  }

  /** Whether nothing was added. */
  get empty(): boolean {
    return this.pending === '' && this.pos === 0 && this.full.length === 0;
  }

  /** The bytes so far, in order. */
  buffers(): Buffer[] {
    this.write();
    return this.pos === 0 ? this.full : [...this.full, this.chunk.subarray(0, this.pos)];
  }

  private write(): void {
    const text = this.pending;
    this.pending = '';
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.pos + text.length * 3 > this.chunk.length) this.nextChunk(text.length * 3);
    this.pos += this.chunk.write(text, this.pos);
  }

  private nextChunk(need: number): void {
    if (this.pos > 0) this.full.push(this.chunk.subarray(0, this.pos));
    const size = Math.min(MAX_CHUNK, Math.max(FIRST_CHUNK, this.chunk.length * 2));
    this.chunk = Buffer.allocUnsafe(Math.max(size, need));
    this.pos = 0;
  }
}
