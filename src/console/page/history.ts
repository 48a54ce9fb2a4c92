/** Per-series history kept in the page (a ring of the last samples), for rates and sparklines. */
export const HISTORY_LENGTH = 60;

export class Series {
  readonly values: number[] = [];
  readonly times: number[] = [];

  push(t: number, v: number): void {
    this.values.push(v);
    this.times.push(t);
    if (this.values.length > HISTORY_LENGTH) {
      this.values.shift();
      this.times.shift();
    }
  }

  last(): number | undefined {
    return this.values[this.values.length - 1];
  }

  /** Change per second over the last two samples; undefined after a counter reset (restart) or with one sample. */
  rate(): number | undefined {
    const n = this.values.length;
    if (n < 2) return undefined;
    const dv = this.values[n - 1] - this.values[n - 2];
    const dt = (this.times[n - 1] - this.times[n - 2]) / 1000;
    return dv < 0 || dt <= 0 ? undefined : dv / dt;
  }

  /** Rates between consecutive samples, for charts of counters. */
  rates(): Array<number | null> {
    return this.values.map((v, i) => {
      if (i === 0) return null;
      const dt = (this.times[i] - this.times[i - 1]) / 1000;
      const dv = v - this.values[i - 1];
      return dv < 0 || dt <= 0 ? null : dv / dt;
    });
  }
}

/** Series by name, created on first use, dropped when a name stops appearing. */
export class SeriesMap {
  private readonly map = new Map<string, Series>();

  get(name: string): Series {
    let s = this.map.get(name);
    if (s === undefined) {
      s = new Series();
      this.map.set(name, s);
    }
    return s;
  }

  peek(name: string): Series | undefined {
    return this.map.get(name);
  }

  retain(names: Set<string>): void {
    for (const k of this.map.keys()) if (!names.has(k)) this.map.delete(k);
  }
}
