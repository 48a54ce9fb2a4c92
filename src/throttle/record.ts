/**
 * A throttle zone's records in the shared store (the limit database), so
 * every worker enforces the same state and a reload or restart keeps it:
 *   T NAME \0 k KEY   → the key's record (JSON, see KeyRecord)
 *   T NAME \0 c       → the zone's counters (JSON)
 *   T NAME \0 l       → the sampler lease (JSON, see sampler.ts)
 * Everything is read and written inside the caller's one write transaction.
 */
import type { KvTxn } from '../store/kv';
import type { ThrottleLimit } from './config';

export type ThrottleState = 'AUTO_THROTTLED' | 'MANUAL_THROTTLED' | 'RECOVERED' | 'RELEASED' | 'EXPIRED';
export type AlertState = 'NONE' | 'FIRING' | 'RESOLVED' | 'FAILED';

/** One key's throttle and its history (kept one TTL after release, so a repeat counts up `triggers`). */
export interface KeyRecord {
  state: ThrottleState;
  source: 'auto' | 'manual';
  limit: ThrottleLimit;
  /** ms since the epoch. */
  since: number;
  expires: number;
  ttlMs: number;
  /** When the throttle ended (0 while it holds). */
  ended: number;
  triggers: number;
  reason: string;
  version: number;
  alert: AlertState;
}

export interface ZoneCounters {
  triggers: number;
  releases: number;
  recoveries: number;
  expirations: number;
  rejected: number;
  alerts_failed: number;
  /** Seconds from trigger to automatic recovery, summed, and how many. */
  recover_seconds_sum: number;
  recover_seconds_count: number;
}

const NO_COUNTERS: ZoneCounters = {
  triggers: 0, releases: 0, recoveries: 0, expirations: 0, rejected: 0, alerts_failed: 0, recover_seconds_sum: 0, recover_seconds_count: 0,
};

export function isActive(rec: KeyRecord | undefined, now: number): rec is KeyRecord {
  return rec !== undefined && rec.ended === 0 && now < rec.expires;
}

/** The records of one throttle zone. */
export class ThrottleRecords {
  private readonly prefix: Buffer;

  constructor(readonly zone: string) {
    this.prefix = Buffer.from(`T${zone}\0`, 'latin1');
  }

  private at(kind: string, key = ''): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(kind + key, 'latin1')]);
  }

  private readJson<T>(t: KvTxn, key: Buffer): T | undefined {
    const v = t.get(key);
    return v === null ? undefined : (JSON.parse(v.toString('utf8')) as T);
  }

  get(t: KvTxn, key: string): KeyRecord | undefined {
    return this.readJson<KeyRecord>(t, this.at('k', key));
  }

  put(t: KvTxn, key: string, rec: KeyRecord): void {
    t.put(this.at('k', key), Buffer.from(JSON.stringify(rec), 'utf8'));
  }

  del(t: KvTxn, key: string): void {
    t.del(this.at('k', key));
  }

  /** Every key with a record, in key order. */
  all(t: KvTxn): Array<[string, KeyRecord]> {
    const out: Array<[string, KeyRecord]> = [];
    const keyPrefix = this.at('k');
    t.scan(keyPrefix, (k, v) => void out.push([k.subarray(keyPrefix.length).toString('latin1'), JSON.parse(v.toString('utf8')) as KeyRecord]));
    return out;
  }

  counters(t: KvTxn): ZoneCounters {
    return { ...NO_COUNTERS, ...this.readJson<Partial<ZoneCounters>>(t, this.at('c')) };
  }

  /** Adds `delta` to the stored counters. */
  count(t: KvTxn, delta: Partial<ZoneCounters>): void {
    const c = this.counters(t);
    for (const [name, n] of Object.entries(delta) as Array<[keyof ZoneCounters, number]>) c[name] += n;
    t.put(this.at('c'), Buffer.from(JSON.stringify(c), 'utf8'));
  }

  lease(t: KvTxn): { pid: number; until: number } | undefined {
    return this.readJson(t, this.at('l'));
  }

  setLease(t: KvTxn, lease: { pid: number; until: number } | undefined): void {
    if (lease === undefined) t.del(this.at('l'));
    else t.put(this.at('l'), Buffer.from(JSON.stringify(lease), 'utf8'));
  }
}
