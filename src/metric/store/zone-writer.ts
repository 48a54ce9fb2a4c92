import type { Zone } from '../zone';
import {
  decodeInto,
  doubleRecord,
  KeyBuffers,
  keyString,
  lruEntryKey,
  LRU_PREFIX,
  META,
  RECORD_SEQ,
  RECORD_STATE,
  type DoubleRecord,
} from './codec';
import { getBytes, type StoreDb } from '../../store/environment';
import type { StoreHealth } from './health';
import { isStale, keyUpdatedAt, lruTimeValue, staleKeys } from './ttl';

/** One zone's LMDB databases: key records and the LRU index of one definition. */
export interface ZoneDbis {
  records: StoreDb;
  lru: StoreDb;
  /** Key of this zone's meta record in the shared meta database. */
  metaKey: Buffer;
}

// Shared by every zone: all store calls are synchronous, so one scratch
// area per purpose is enough.
const recordKeys = new KeyBuffers(0);
const lruKeys = new KeyBuffers(LRU_PREFIX);

function mustGet(dbi: StoreDb, key: Buffer): Buffer {
  const stored = getBytes(dbi, key);
  if (stored === undefined) throw new Error(`metric store: missing record ${keyString(key)}`);
  return stored;
}

/**
 * Writes one zone inside the caller's write transaction (lmdb-js keeps it
 * current: every read and write below goes to it), following Angie's
 * rules for a full zone. The meta record is read at most once per batch and
 * written back by flush().
 */
export class ZoneWriter {
  private readonly meta: DoubleRecord;
  private readonly record: DoubleRecord;
  private readonly evicted: DoubleRecord;
  private metaBatch = -1;
  private metaDirty = false;
  /**
   * expire=off: the records this batch updated, kept decoded and written once by flush(), so a
   * key updated by every request of a group commit is read and written once per commit, not
   * once per update. (With expire=on every update also moves the key in the LRU index, which
   * eviction reads within the batch, so those go straight to the database.)
   */
  private readonly batchRecords = new Map<string, DoubleRecord>();
  private readonly spareRecords: DoubleRecord[] = [];
  private recordsBatch = -1;

  constructor(
    readonly zone: Zone,
    private readonly dbis: ZoneDbis,
    private readonly metaDbi: StoreDb,
    private readonly health: StoreHealth,
  ) {
    this.meta = doubleRecord(META.discardState + zone.slots);
    this.record = doubleRecord(RECORD_STATE + zone.slots);
    this.evicted = doubleRecord(RECORD_STATE + zone.slots);
  }

  /** A fresh meta record: nothing stored, the discard key at its initial state. */
  freshMeta(): Buffer {
    this.meta.f64.fill(0);
    this.zone.init(this.meta.f64, META.discardState);
    return this.meta.bytes;
  }

  apply(batch: number, rawKey: string, v: number, nowMs: number): void {
    const key = this.zone.acceptKey(rawKey);
    if (key === undefined) return;
    if (this.zone.tracksOrder) this.loadMeta(batch, nowMs);
    else if (this.updateInBatch(batch, key, v, nowMs)) return;
    const stored = this.liveRecord(key, nowMs);
    if (stored === undefined) {
      this.create(batch, key, v, nowMs);
    } else if (this.zone.tracksOrder) {
      this.updateStored(stored, key, v, nowMs);
    } else {
      const rec = this.spareRecords.pop() ?? doubleRecord(this.record.f64.length);
      decodeInto(stored, rec);
      this.zone.update(rec.f64, RECORD_STATE, v, nowMs);
      this.batchRecords.set(key, rec);
    }
  }

  /**
   * Drops every key past the zone's ttl, folding each into the discard key;
   * returns how many. Reads only the stale head of the LRU index.
   */
  sweep(batch: number, nowMs: number): number {
    if (this.zone.ttl <= 0) return 0;
    this.loadMeta(batch, nowMs);
    const stale = staleKeys(this.dbis.lru, this.zone.ttl, nowMs);
    for (const key of stale) this.expireKey(key, nowMs);
    return stale.length;
  }

  /** API DELETE of one key (the discard key: back to its initial state, hidden); false if the zone shows no such key. */
  removeKey(batch: number, key: string, nowMs: number): boolean {
    this.loadMeta(batch, nowMs);
    const meta = this.meta.f64;
    if (this.zone.hasDiscardKey && key === this.zone.def.discardKey) {
      if (!meta[META.isExpired]) return false;
      this.zone.init(meta, META.discardState);
      meta[META.isExpired] = 0;
      return true;
    }
    const stored = this.liveRecord(key, nowMs);
    if (stored === undefined) return false;
    this.dropKey(key, stored);
    return true;
  }

  /**
   * At open, for a definition that keeps no update order: its updates will
   * not move keys in the LRU index, so a later ttl or expire=on writer must
   * rebuild it rather than trust the update times it holds.
   */
  markOrderUnknown(): void {
    if (this.zone.tracksOrder) return;
    decodeInto(mustGet(this.metaDbi, this.dbis.metaKey), this.meta);
    if (this.meta.f64[META.lruStale]) return;
    this.meta.f64[META.lruStale] = 1;
    this.metaDbi.putSync(this.dbis.metaKey, this.meta.bytes);
  }

  /** API DELETE of the zone: no keys, nothing discarded, as if just created. */
  clear(): void {
    this.dbis.records.clearSync();
    this.dbis.lru.clearSync();
    this.metaDbi.putSync(this.dbis.metaKey, this.freshMeta());
    // The meta record cached for the current batch no longer exists.
    this.metaBatch = -1;
    this.metaDirty = false;
  }

  /** Writes back the records and the meta record this batch changed. */
  flush(): void {
    for (const [key, rec] of this.batchRecords) {
      this.dbis.records.putSync(recordKeys.encode(key), rec.bytes);
      this.spareRecords.push(rec);
    }
    this.batchRecords.clear();
    if (!this.metaDirty) return;
    this.metaDbi.putSync(this.dbis.metaKey, this.meta.bytes);
    this.metaDirty = false;
  }

  /** Updates a record this batch already holds; false if it holds none (an aborted batch's are dropped). */
  private updateInBatch(batch: number, key: string, v: number, nowMs: number): boolean {
    if (this.recordsBatch !== batch) {
      for (const rec of this.batchRecords.values()) this.spareRecords.push(rec);
      this.batchRecords.clear();
      this.recordsBatch = batch;
      return false;
    }
    const rec = this.batchRecords.get(key);
    if (rec === undefined) return false;
    this.zone.update(rec.f64, RECORD_STATE, v, nowMs);
    return true;
  }

  private updateStored(stored: Buffer, key: string, v: number, nowMs: number): void {
    const rec = this.record.f64;
    decodeInto(stored, this.record);
    this.zone.update(rec, RECORD_STATE, v, nowMs);
    // Angie moves an updated key to the head of its queue.
    this.dbis.lru.removeSync(lruKeys.encodeWithSeq(rec[RECORD_SEQ], key));
    rec[RECORD_SEQ] = this.nextSeq();
    this.dbis.lru.putSync(lruKeys.encodeWithSeq(rec[RECORD_SEQ], key), lruTimeValue(nowMs));
    this.dbis.records.putSync(recordKeys.encode(key), this.record.bytes);
  }

  private create(batch: number, key: string, v: number, nowMs: number): void {
    if (this.health.full) return this.health.refused();
    this.loadMeta(batch, nowMs);
    const meta = this.meta.f64;
    const chunks = this.zone.keyNodeChunks(key.length);
    if (!this.reserve(chunks, nowMs)) {
      // Angie: with expire=off a rejected update goes to the discard key.
      if (!this.zone.def.expire && this.zone.hasDiscardKey && meta[META.isExpired]) {
        this.zone.update(meta, META.discardState, v, nowMs);
      }
      return;
    }
    const rec = this.record.f64;
    rec[RECORD_SEQ] = this.nextSeq();
    this.zone.init(rec, RECORD_STATE);
    this.zone.update(rec, RECORD_STATE, v, nowMs);
    this.dbis.records.putSync(recordKeys.encode(key), this.record.bytes);
    if (this.zone.tracksOrder) {
      this.dbis.lru.putSync(lruKeys.encodeWithSeq(rec[RECORD_SEQ], key), lruTimeValue(nowMs));
    } else {
      meta[META.lruStale] = 1;
    }
    meta[META.keyChunks] += chunks;
    meta[META.keys]++;
  }

  /**
   * Angie allocates a node chunk by chunk; each allocation that finds the
   * zone full counts one `discarded`, marks the discard key as in use, and
   * with expire=on evicts the least recently updated key before retrying.
   * Returns false when the node cannot be placed.
   */
  private reserve(chunks: number, nowMs: number): boolean {
    const meta = this.meta.f64;
    const freeChunks = () => this.zone.totalChunks - this.zone.baseChunks - meta[META.keyChunks];
    let free = freeChunks();
    // Keys past their ttl give their room back before anything counts as discarded.
    if (free < chunks && this.sweep(this.metaBatch, nowMs) > 0) free = freeChunks();
    for (let taken = 0; taken < chunks; taken++) {
      while (free <= 0) {
        meta[META.discarded]++;
        if (meta[META.keys] === 0) return false;
        if (this.zone.hasDiscardKey) meta[META.isExpired] = 1;
        if (!this.zone.def.expire) return false;
        free += this.evictOldest(nowMs);
      }
      free--;
      meta[META.allocs]++;
    }
    return true;
  }

  /** Removes the least recently updated key, folding it into the discard key. */
  private evictOldest(nowMs: number): number {
    let entry: Buffer | undefined;
    for (const first of this.dbis.lru.getKeys({ limit: 1 })) entry = Buffer.from(first);
    if (entry === undefined) throw new Error(`metric zone "${this.zone.def.name}": LRU index is empty`);
    const key = keyString(lruEntryKey(entry));
    const stored = mustGet(this.dbis.records, recordKeys.encode(key));
    if (this.zone.hasDiscardKey) this.foldIntoDiscardKey(stored, nowMs);
    return this.dropKey(key, stored);
  }

  /**
   * The key's stored record, or undefined when there is none or it is past
   * the zone's ttl — then it is dropped here (expiry on access), so an update
   * starts it afresh and a DELETE finds nothing to remove.
   */
  private liveRecord(key: string, nowMs: number): Buffer | undefined {
    const stored = getBytes(this.dbis.records, recordKeys.encode(key));
    if (stored === undefined || this.zone.ttl <= 0) return stored;
    // Copied: getBytes' buffer is reused by the next read (the LRU lookup below).
    const record = Buffer.from(stored);
    decodeInto(record, this.evicted);
    const updated = keyUpdatedAt(this.dbis.lru, this.evicted.f64[RECORD_SEQ], key);
    if (!isStale(updated, this.zone.ttl, nowMs)) return record;
    this.expireKey(key, nowMs);
    return undefined;
  }

  /**
   * A key past its ttl leaves as an evicted one does (its values fold into
   * the discard key, which then shows) but is not counted as discarded:
   * nothing was turned away.
   */
  private expireKey(key: string, nowMs: number): void {
    const stored = mustGet(this.dbis.records, recordKeys.encode(key));
    if (this.zone.hasDiscardKey) {
      this.foldIntoDiscardKey(stored, nowMs);
      this.meta.f64[META.isExpired] = 1;
    }
    this.dropKey(key, stored);
  }

  private foldIntoDiscardKey(stored: Buffer, nowMs: number): void {
    decodeInto(stored, this.evicted);
    this.zone.merge(this.meta.f64, META.discardState, this.evicted.f64, RECORD_STATE, nowMs);
  }

  /** Deletes a key's record and index entry and gives its room back; returns the chunks freed. */
  private dropKey(key: string, stored: Buffer): number {
    decodeInto(stored, this.evicted);
    this.dbis.lru.removeSync(lruKeys.encodeWithSeq(this.evicted.f64[RECORD_SEQ], key));
    this.dbis.records.removeSync(recordKeys.encode(key));
    const freed = this.zone.keyNodeChunks(key.length);
    this.meta.f64[META.keyChunks] -= freed;
    this.meta.f64[META.keys]--;
    return freed;
  }

  private nextSeq(): number {
    return ++this.meta.f64[META.seq];
  }

  /** Every path that needs the meta record also changes it, hence dirty. */
  private loadMeta(batch: number, nowMs: number): void {
    if (this.metaBatch === batch) return;
    decodeInto(mustGet(this.metaDbi, this.dbis.metaKey), this.meta);
    this.metaBatch = batch;
    this.metaDirty = true;
    if (this.zone.tracksOrder && this.meta.f64[META.lruStale]) this.rebuildLru(nowMs);
  }

  /**
   * expire=off writers (an older config of the same zone, still running
   * during a reload) add keys without LRU entries; rebuild the index from
   * the records' sequence numbers before relying on it. Their update times
   * are unknown: the ttl counts from now.
   */
  private rebuildLru(nowMs: number): void {
    this.dbis.lru.clearSync();
    // Gathered first: the index is written while nothing iterates.
    const entries: Buffer[] = [];
    for (const { key, value } of this.dbis.records.getRange({})) {
      decodeInto(value, this.evicted);
      entries.push(Buffer.from(lruKeys.encodeWithSeq(this.evicted.f64[RECORD_SEQ], keyString(key))));
    }
    for (const entry of entries) this.dbis.lru.putSync(entry, lruTimeValue(nowMs));
    this.meta.f64[META.lruStale] = 0;
  }
}
