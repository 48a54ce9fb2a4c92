/**
 * The sampler of one throttle zone: every `interval`, over every key of the
 * watched metric zone, counts consecutive breaches and recoveries and moves
 * the keys' states. Every worker runs the timer, but only the holder of the
 * zone's lease samples (one sampler per instance): the lease is taken by
 * compare-and-set in a write transaction, and taken over once its holder
 * stopped renewing it (a crashed or stopped worker).
 *
 * Streaks live in the holder's memory: a new holder starts counting from
 * zero, which can delay a trigger by one lease, never cause a false one.
 */
import type { MetricStore } from '../metric/store/lmdb-store';
import type { KvTxn } from '../store/kv';
import { ruleText, type ThrottleZoneDef } from './config';
import { isActive, KeyRecord, ThrottleRecords } from './record';
import { endThrottle, startThrottle, Transition } from './transitions';

interface Streak {
  breaches: number[];
  recoveries: number[];
}

/** The lease outlives two missed ticks of its holder, then another worker takes it. */
const LEASE_TICKS = 2;
const LEASE_GRACE_MS = 1000;

/** Runs `body` in one write transaction of the throttle store; `fallback` if the store failed. */
export type Transact = <T>(body: (t: KvTxn) => T, fallback: T) => T;

export class Sampler {
  private readonly streaks = new Map<string, Streak>();

  constructor(
    private readonly def: ThrottleZoneDef,
    private readonly recs: ThrottleRecords,
    private readonly transact: Transact,
    private readonly pid = process.pid,
  ) {}

  /** One tick: take or renew the lease, and if held, sample and apply. */
  tick(store: MetricStore | undefined, now = Date.now()): Transition[] {
    if (store === undefined || !this.transact((t) => this.takeLease(t, now), false)) {
      this.streaks.clear();
      return [];
    }
    const values = this.sample(store);
    return this.transact((t) => this.apply(t, values, now), []);
  }

  /** At shutdown: hands the lease on at once (the next worker's tick takes it). */
  dropLease(): void {
    this.transact((t) => {
      if (this.recs.lease(t)?.pid === this.pid) this.recs.setLease(t, undefined);
    }, undefined);
  }

  private takeLease(t: KvTxn, now: number): boolean {
    const lease = this.recs.lease(t);
    if (lease !== undefined && lease.pid !== this.pid && lease.until > now) return false;
    this.recs.setLease(t, { pid: this.pid, until: now + LEASE_TICKS * this.def.intervalMs + LEASE_GRACE_MS });
    return true;
  }

  /** Every key's current value of the watched metric (one read snapshot). */
  sample(store: MetricStore): Map<string, number> {
    const { zone, sub } = this.def.watch;
    const values = new Map<string, number>();
    const reader = store.reader();
    try {
      for (const key of reader.keys(zone)) {
        const v = Number(reader.text(zone, key, sub));
        if (Number.isFinite(v)) values.set(key, v);
      }
    } finally {
      reader.close();
    }
    return values;
  }

  /** Ends what expired, forgets old history, then moves each sampled key. */
  apply(t: KvTxn, values: ReadonlyMap<string, number>, now: number): Transition[] {
    const out: Transition[] = [];
    // Every record read once: a zone has far fewer records than sampled keys.
    const records = new Map(this.recs.all(t));
    for (const [key, rec] of records) {
      const expired = rec.ended === 0 && now >= rec.expires ? endThrottle(t, this.recs, key, 'EXPIRED', now, {}) : undefined;
      if (expired !== undefined) {
        out.push(expired);
        records.set(key, expired.record);
      } else if (rec.ended !== 0 && now - rec.ended >= rec.ttlMs) this.recs.del(t, key);
    }
    for (const key of this.streaks.keys()) if (!values.has(key)) this.streaks.delete(key);
    for (const [key, v] of values) {
      const moved = this.sampleKey(t, key, v, records.get(key), now);
      if (moved !== undefined) out.push(moved);
    }
    return out;
  }

  private streak(key: string): Streak {
    let s = this.streaks.get(key);
    if (s === undefined) this.streaks.set(key, (s = { breaches: [], recoveries: [] }));
    return s;
  }

  private sampleKey(t: KvTxn, key: string, v: number, rec: KeyRecord | undefined, now: number): Transition | undefined {
    const s = this.streak(key);
    s.breaches = v > this.def.above ? [...s.breaches, v].slice(-this.def.samples) : [];
    if (isActive(rec, now)) return rec.source === 'auto' ? this.maybeRecover(t, key, s, v, now) : undefined;
    s.recoveries = [];
    if (s.breaches.length < this.def.samples) return undefined;
    const samples = s.breaches;
    s.breaches = [];
    if (key === '' || this.def.exempt.has(key)) return this.alertOnly(key, samples, now);
    const { limit, ttlMs } = this.def;
    return startThrottle(t, this.recs, key, { source: 'auto', limit, ttlMs, reason: ruleText(this.def), samples }, now);
  }

  private maybeRecover(t: KvTxn, key: string, s: Streak, v: number, now: number): Transition | undefined {
    const recover = this.def.recover;
    if (recover === undefined) return undefined;
    s.recoveries = v < recover.below ? [...s.recoveries, v] : [];
    if (s.recoveries.length < recover.samples) return undefined;
    const samples = s.recoveries;
    s.recoveries = [];
    return endThrottle(t, this.recs, key, 'RECOVERED', now, { samples });
  }

  /** An exempt key breached: operators hear of it, the key is not throttled (nothing is stored). */
  private alertOnly(key: string, samples: number[], now: number): Transition {
    const { limit, ttlMs } = this.def;
    const record = { state: 'RELEASED' as const, source: 'auto' as const, limit, since: now, expires: now, ttlMs, ended: now, triggers: 0, reason: ruleText(this.def), version: 0, alert: 'NONE' as const };
    return { zone: this.recs.zone, key, from: 'NONE', to: 'ALERTED', source: 'auto', samples, record };
  }

}
