import { acceptKey, type Zone } from '../zone';
import type { MetricValue } from '../value';
import { decodeInto, doubleRecord, keyString, META, RECORD_SEQ, RECORD_STATE, type DoubleRecord } from './codec';
import { getBytes, type ReadTxn, type StoreDb } from '../../store/environment';
import { keyUpdatedAt, staleKeys } from './ttl';
import type { ZoneDbis } from './zone-writer';

export interface ZoneUsage {
  /** Slab chunks in use, the zone's own contexts included. */
  chunksUsed: number;
  chunksTotal: number;
  keys: number;
  /** Chunk allocations that succeeded since the zone started, its own contexts included. */
  allocs: number;
  /** Chunk allocations that found the zone full (Angie: each one is also a `discarded`). */
  fails: number;
}

/** What a reader needs to know about one zone. */
export interface ReadableZone {
  zone: Zone;
  dbis: ZoneDbis;
}

/**
 * A consistent snapshot of every zone: one LMDB read transaction, held until
 * close() (every read below passes it), across event-loop turns when the
 * caller renders in slices. lmdb-js keeps a transaction in use until its last
 * done() and never renews it underneath (its timer only detaches it from new
 * readers); writers are never blocked by it. Keep it short (one API
 * response): an open reader pins old pages.
 */
export class MetricReader {
  private readonly metas = new Map<string, Float64Array>();
  private readonly scratch = new Map<string, DoubleRecord>();
  /** Per zone: stored keys past the ttl that no sweep removed yet; shown as if it had. */
  private readonly stale = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly txn: ReadTxn,
    private readonly zones: ReadonlyMap<string, ReadableZone>,
    private readonly metaDbi: StoreDb,
    private readonly nowMs: number,
  ) {}

  /** Every stored key (byte strings, any order), the discard key last once it is in use. */
  keys(zone: string): string[] {
    const keys: string[] = [];
    for (const key of this.storedKeys(zone)) keys.push(key);
    const discardKey = this.shownDiscardKey(zone);
    if (discardKey !== undefined) keys.push(discardKey);
    return keys;
  }

  /** The API value of a key, undefined when the zone does not hold it. */
  get(zone: string, key: string): MetricValue | undefined {
    const found = this.state(zone, key);
    return found && this.zoneOf(zone).read(found.f64, found.off, this.nowMs);
  }

  /** `$metric_NAME_value` (or `_value_SUB` when `sub` is given) for a key. */
  text(zone: string, key: string, sub?: string): string | undefined {
    const found = this.state(zone, key);
    if (found === undefined) return undefined;
    const z = this.zoneOf(zone);
    return sub === undefined ? z.text(found.f64, found.off, this.nowMs) : z.subText(found.f64, found.off, sub, this.nowMs);
  }

  /**
   * When a stored key was last updated (ms since the epoch). Only zones that
   * keep keys in update order (expire=on, ttl) know; undefined otherwise.
   */
  updatedAt(zone: string, key: string): number | undefined {
    if (!this.zoneOf(zone).tracksOrder || this.state(zone, key)?.off !== RECORD_STATE) return undefined;
    const record = this.recordScratch(zone);
    const at = keyUpdatedAt(this.readable(zone).dbis.lru, record.f64[RECORD_SEQ], key, this.txn);
    return at > 0 ? at : undefined;
  }

  discarded(zone: string): number {
    return this.meta(zone)[META.discarded];
  }

  usage(zone: string): ZoneUsage {
    const z = this.zoneOf(zone);
    const meta = this.meta(zone);
    return {
      chunksUsed: z.baseChunks + meta[META.keyChunks],
      chunksTotal: z.totalChunks,
      keys: meta[META.keys],
      allocs: z.baseChunks + meta[META.allocs],
      fails: meta[META.discarded],
    };
  }

  close(): void {
    this.txn.done();
  }

  private *storedKeys(zone: string): Generator<string> {
    const discardKey = this.zoneOf(zone).def.discardKey;
    for (const key of this.readable(zone).dbis.records.getKeys({ transaction: this.txn })) {
      const name = keyString(key);
      // The discard key is reserved: a stored key of that name predates it.
      if (name !== discardKey && !this.staleOf(zone).has(name)) yield name;
    }
  }

  /** The discard key appears once something was discarded into it (Angie's is_expired). */
  private shownDiscardKey(zone: string): string | undefined {
    const z = this.zoneOf(zone);
    return z.hasDiscardKey && this.meta(zone)[META.isExpired] ? z.def.discardKey : undefined;
  }

  private state(zone: string, key: string): { f64: Float64Array; off: number } | undefined {
    if (key === this.shownDiscardKey(zone)) return { f64: this.meta(zone), off: META.discardState };
    // A key the zone's rule would change or refuse was never stored under that name.
    if (acceptKey(this.zoneOf(zone).def, key) !== key) return undefined;
    if (this.staleOf(zone).has(key)) return undefined;
    const record = this.stored(zone, key);
    return record && { f64: record.f64, off: RECORD_STATE };
  }

  private stored(zone: string, key: string): DoubleRecord | undefined {
    const stored = getBytes(this.readable(zone).dbis.records, Buffer.from(key, 'latin1'), this.txn);
    if (stored === undefined) return undefined;
    const record = this.recordScratch(zone);
    decodeInto(stored, record);
    return record;
  }

  private staleOf(zone: string): ReadonlySet<string> {
    let stale = this.stale.get(zone);
    if (stale === undefined) {
      const { zone: z, dbis } = this.readable(zone);
      // A writer without ttl (an older config during a reload) left the index behind; the next ttl writer
      // rebuilds it. Until then update times are unknown, and no key is taken for stale.
      const lruStale = getBytes(this.metaDbi, dbis.metaKey, this.txn)?.readDoubleLE(META.lruStale * 8) !== 0;
      stale = new Set(lruStale ? [] : staleKeys(dbis.lru, z.ttl, this.nowMs, Infinity, this.txn));
      this.stale.set(zone, stale);
    }
    return stale;
  }

  /** What a sweep will do to the discard key, done on this reader's copy so totals read right meanwhile. */
  private foldStale(zone: string, meta: Float64Array): void {
    const z = this.zoneOf(zone);
    if (!z.hasDiscardKey) return;
    for (const key of this.staleOf(zone)) {
      const record = this.stored(zone, key);
      if (record === undefined) continue;
      z.merge(meta, META.discardState, record.f64, RECORD_STATE, this.nowMs);
      meta[META.isExpired] = 1;
    }
  }

  private meta(zone: string): Float64Array {
    let meta = this.metas.get(zone);
    if (meta === undefined) {
      const record = doubleRecord(META.discardState + this.zoneOf(zone).slots);
      const stored = getBytes(this.metaDbi, this.readable(zone).dbis.metaKey, this.txn);
      if (stored === undefined) throw new Error(`metric store: zone "${zone}" has no meta record`);
      decodeInto(stored, record);
      meta = record.f64;
      this.foldStale(zone, meta);
      this.metas.set(zone, meta);
    }
    return meta;
  }

  private recordScratch(zone: string): DoubleRecord {
    let record = this.scratch.get(zone);
    if (record === undefined) {
      record = doubleRecord(RECORD_STATE + this.zoneOf(zone).slots);
      this.scratch.set(zone, record);
    }
    return record;
  }

  private zoneOf(zone: string): Zone {
    return this.readable(zone).zone;
  }

  private readable(zone: string): ReadableZone {
    const found = this.zones.get(zone);
    if (found === undefined) throw new Error(`unknown metric zone "${zone}"`);
    return found;
  }
}
