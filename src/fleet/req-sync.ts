/**
 * limit_req across the fleet. Decisions stay local: each instance keeps
 * its leaky bucket per key in the store, and adds what its bucket accepted
 * to a delta record per key (same transaction, one write per key). Every
 * sync period the syncing worker drains those counts and adds them to the
 * fleet's bucket of each key in Redis (one Lua call, the same leaky-bucket
 * arithmetic on the server's clock, and a running total); from the totals
 * it charges what the other instances accepted since its last sync into its
 * local buckets. So each instance's bucket holds the whole fleet's
 * requests, the others' at most one period late.
 *
 * Without Redis, a period's local acceptances are charged `instances`
 * times over (this instance's and, as an estimate, each other live
 * instance's as many): the local bucket then passes rate / instances.
 */
import type Redis from 'ioredis';
import type { KvTxn } from '../store/kv';
import { currentLevel, setLevel, type ReqLimit } from '../limit/req-bucket';
import type { SharedZone } from '../limit/shared-zone';
import type { LimitSpace, LimitTxn } from '../limit/space';
import type { SyncJob } from './runner';
import { INSTANCE_ID, redisKey, runScript } from './redis';
import { REQ_SYNC } from './scripts';
import { SyncStatus } from './status';

/** Redis forgets a key (and a zone) idle this long: nginx's one-minute expiry of drained nodes. */
const IDLE_MS = 60_000;
/** How many syncs between sweeps of the baselines of keys idle for IDLE_MS. */
const PRUNE_EVERY = 100;
/** An instance counts as live while its heartbeat is this recent (at least three periods). */
export function heartbeatTtl(intervalMs: number): number {
  return Math.max(3000, 10 * intervalMs);
}

/** A level after `n` more requests now, as nginx accounts them one by one (the first one clamps at 0). */
export function withRequests(level: number, n: number): number {
  return n === 0 ? level : Math.max(0, level + 1000) + (n - 1) * 1000;
}

/** Keys per script call: a call's arguments are spread on the stack, and a long call blocks Redis. */
const KEYS_PER_CALL = 2000;

/** The deltas in calls of at most KEYS_PER_CALL keys; one empty call when there are none (it still reads back). */
export function inChunks<T>(entries: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < entries.length; i += KEYS_PER_CALL) out.push(entries.slice(i, i + KEYS_PER_CALL));
  return out.length === 0 ? [[]] : out;
}

function addTo(t: KvTxn, key: Buffer, n: number): void {
  const v = t.get(key);
  const sum = Buffer.allocUnsafe(8);
  sum.writeDoubleLE((v === null ? 0 : v.readDoubleLE(0)) + n);
  t.put(key, sum);
}

export class ReqSync implements SyncJob {
  readonly status: SyncStatus;
  private readonly deltaPrefix: Buffer;
  private readonly limit: ReqLimit;
  private readonly keys: string[];
  /** The server time of the last sync: the next one reads every key changed since. */
  private since = 0;
  /** Per key (stored, latin1): the fleet's total of accepted requests when this instance last saw it. */
  private readonly seen = new Map<string, { total: number; at: number }>();
  private syncs = 0;
  /** This worker's acceptances in the current transaction, by stored key (latin1). */
  private readonly accepted = new Map<string, number>();

  constructor(
    private readonly zone: SharedZone,
    private readonly space: LimitSpace,
  ) {
    const def = zone.def;
    this.status = new SyncStatus(`limit_req zone "${def.name}"`, def.sync!, (n) => `enforcing this instance's share 1/${n} of the limit`);
    this.deltaPrefix = Buffer.from(`Fleet\0d\0${def.name}\0${zone.fingerprint}\0`, 'latin1');
    this.limit = { zone, rate: def.rate, burst: 0, delay: 0 };
    this.keys = ['b', 't', 'i'].map((part) => redisKey('limit_req', def.name, part));
    zone.onAccept = (stored) => {
      const key = stored.toString('latin1');
      this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1);
    };
    zone.onCommit = (t) => this.storeAccepted(t);
    zone.statusExtra = (t) => this.status.read(t);
  }

  get target() {
    return this.status.target;
  }

  get periodMs(): number {
    return this.target.intervalMs;
  }

  private deltaKey(stored: Buffer): Buffer {
    return Buffer.concat([this.deltaPrefix, stored]);
  }

  /** Adds this transaction's acceptances to the delta records: one write per key, not per request. */
  private storeAccepted(t: KvTxn): void {
    for (const [stored, n] of this.accepted) addTo(t, this.deltaKey(Buffer.from(stored, 'latin1')), n);
    this.accepted.clear();
  }

  /** Takes the accepted counts since the last drain (stored key as latin1 → count). */
  private drain(t: KvTxn): Map<string, number> {
    const out = new Map<string, number>();
    t.scan(this.deltaPrefix, (k, v) => void out.set(k.subarray(this.deltaPrefix.length).toString('latin1'), v.readDoubleLE(0)));
    for (const stored of out.keys()) t.del(this.deltaKey(Buffer.from(stored, 'latin1')));
    return out;
  }

  async sync(client: Redis): Promise<void> {
    const deltas = this.space.transact((tx) => {
      this.status.resume(tx.t);
      return this.drain(tx.t);
    }, new Map<string, number>());
    let reply: unknown[] = [];
    const sent = Date.now();
    try {
      const chunks = inChunks([...deltas]);
      for (let i = 0; i < chunks.length; i++) {
        // Only the last call reads the fleet's levels back, once every delta is in.
        const since = i === chunks.length - 1 ? this.since : Number.MAX_SAFE_INTEGER;
        reply = await runScript(client, REQ_SYNC, this.keys, [this.limit.rate, since, INSTANCE_ID, heartbeatTtl(this.target.intervalMs), IDLE_MS, ...chunks[i].flat()]);
      }
    } catch (e) {
      this.fallBack(deltas, e);
      throw e;
    }
    // The fleet's levels are the server's at about mid-call.
    const asOf = Math.round((sent + Date.now()) / 2);
    this.since = Number(reply[0]);
    this.status.synced(Number(reply[1]));
    const now = Date.now();
    this.space.transact((tx) => {
      for (let i = 2; i < reply.length; i += 3) {
        const key = String(reply[i]);
        this.catchUp(tx, key, { level: Number(reply[i + 1]), total: Number(reply[i + 2]), asOf }, deltas.get(key) ?? 0, now);
      }
      this.status.save(tx.t);
    }, undefined);
    if (++this.syncs % PRUNE_EVERY === 0) for (const [key, seen] of this.seen) if (now - seen.at > IDLE_MS) this.seen.delete(key);
  }

  /**
   * Brings a local bucket up to the fleet. With a baseline (the fleet's
   * total this instance saw last), what the other instances accepted since
   * is charged now: this instance's own requests stay as its bucket counted
   * them, so one instance alone is nginx exactly. Without one (a key new
   * here, Redis restarted empty, or after an outage) the fleet's level is
   * taken if it is fuller than the local one.
   */
  private catchUp(tx: LimitTxn, key: string, fleet: { level: number; total: number; asOf: number }, pushed: number, now: number): void {
    const stored = Buffer.from(key, 'latin1');
    const seen = this.seen.get(key);
    this.seen.set(key, { total: fleet.total, at: now });
    const rate = this.limit.rate;
    const local = currentLevel(tx.t, this.zone, rate, stored, now);
    let level: number;
    if (seen !== undefined && fleet.total >= seen.total + pushed) level = withRequests(local, fleet.total - seen.total - pushed);
    else {
      const meanwhile = tx.t.get(this.deltaKey(stored));
      const fleetNow = Math.max(-1000, fleet.level - Math.floor((rate * Math.max(0, now - fleet.asOf)) / 1000));
      level = Math.max(local, withRequests(fleetNow, meanwhile === null ? 0 : meanwhile.readDoubleLE(0)));
    }
    if (level !== local) setLevel(tx.t, this.limit, tx.meta(this.zone), stored, level, now);
  }

  /** Redis is away: charges the others' estimated acceptances into the local buckets. */
  private fallBack(deltas: Map<string, number>, e: unknown): void {
    // What the others accept meanwhile is not charged when Redis returns: the baselines go.
    this.seen.clear();
    const degraded = this.status.failed(e);
    const others = degraded ? this.status.instances - 1 : 0;
    this.space.transact((tx) => {
      const now = Date.now();
      for (const [key, n] of others > 0 ? deltas : []) {
        const stored = Buffer.from(key, 'latin1');
        const level = currentLevel(tx.t, this.zone, this.limit.rate, stored, now) + n * others * 1000;
        setLevel(tx.t, this.limit, tx.meta(this.zone), stored, level, now);
      }
      this.status.save(tx.t);
    }, undefined);
  }
}
