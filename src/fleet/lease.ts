/**
 * One syncing worker per instance: the fleet lease, a record in the limit
 * database taken by compare-and-set in a write transaction (the throttle
 * sampler's pattern). Its holder talks to Redis for every synced zone;
 * the others only check, on a read snapshot, that someone holds it, and
 * take it over once its holder stopped renewing it (a crashed worker).
 */
import type { KvTxn } from '../store/kv';

/** Runs `body` in a transaction of the limit database; `fallback` if the store failed. */
export type StoreRun = <T>(body: (t: KvTxn) => T, fallback: T) => T;

const LEASE_KEY = Buffer.from('Fleet\0lease', 'latin1');
/** The holder renews every tick; the lease outlives a few missed ones. */
export const LEASE_TICK_MS = 250;
const LEASE_MS = 1500;

interface LeaseRecord {
  pid: number;
  until: number;
}

function readLease(t: KvTxn): LeaseRecord | undefined {
  const v = t.get(LEASE_KEY);
  return v === null ? undefined : (JSON.parse(v.toString('utf8')) as LeaseRecord);
}

export class FleetLease {
  constructor(
    private readonly write: StoreRun,
    private readonly read: StoreRun,
    private readonly pid = process.pid,
  ) {}

  /** Takes or renews the lease; true while this worker holds it. */
  hold(now = Date.now()): boolean {
    const other = (l: LeaseRecord | undefined) => l !== undefined && l.pid !== this.pid && l.until > now;
    if (this.read((t) => other(readLease(t)), true)) return false;
    return this.write((t) => {
      if (other(readLease(t))) return false;
      t.put(LEASE_KEY, Buffer.from(JSON.stringify({ pid: this.pid, until: now + LEASE_MS }), 'utf8'));
      return true;
    }, false);
  }

  /** At shutdown: hands the lease on at once. */
  drop(): void {
    this.write((t) => {
      if (readLease(t)?.pid === this.pid) t.del(LEASE_KEY);
    }, undefined);
  }
}
