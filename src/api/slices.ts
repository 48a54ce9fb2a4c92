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

/** Output text is kept in pieces of about this many chars: no single string nears V8's length limit. */
const PIECE_CHARS = 1 << 20;

/** Collects a render's text by concatenation (cheap in V8), cut into pieces as it grows. */
export class TextPieces {
  private readonly done: string[] = [];
  private text = '';

  add(s: string): void {
    this.text += s;
    if (this.text.length >= PIECE_CHARS) {
      this.done.push(this.text);
      this.text = '';
    }
  }

  /** Every piece, in order. */
  pieces(): string[] {
    return this.text === '' ? this.done : [...this.done, this.text];
  }

  /** The pieces encoded as one UTF-8 body. */
  static utf8(pieces: readonly string[]): Buffer {
    return Buffer.concat(pieces.map((p) => Buffer.from(p, 'utf8')));
  }
}
