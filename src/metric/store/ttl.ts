/**
 * `ttl=` bookkeeping. A zone that keeps keys in update order (expire=on or
 * a ttl) has an LRU index, [seq][key] → value, least recently updated
 * first; the value is the key's last update time (one f64, ms since the
 * epoch). Sequence order is update order, so the keys past their ttl are
 * always a prefix of the index: finding them reads only those keys, never
 * the whole zone.
 */
import { KeyBuffers, keyString, lruEntryKey, LRU_PREFIX } from './codec';
import { getBytes, type ReadTxn, type StoreDb } from '../../store/environment';

const timeScratch = new Float64Array(1);
const timeBytes = Buffer.from(timeScratch.buffer);

/** The LRU value for an update at `nowMs` (a shared buffer: put it before the next call). */
export function lruTimeValue(nowMs: number): Buffer {
  timeScratch[0] = nowMs;
  return timeBytes;
}

/** The last update time an LRU value holds; entries written before ttl existed hold none (0: long ago). */
export function lruTime(value: Buffer | undefined): number {
  return value !== undefined && value.length === 8 ? value.readDoubleLE(0) : 0;
}

/** Whether a key last updated at `updatedMs` is past `ttlMs` at `nowMs`. */
export function isStale(updatedMs: number, ttlMs: number, nowMs: number): boolean {
  return ttlMs > 0 && nowMs - updatedMs >= ttlMs;
}

const lruKeys = new KeyBuffers(LRU_PREFIX);

/**
 * The last update time of a key whose record holds sequence number `seq`
 * (read in `txn`, or in the write transaction when none is given).
 */
export function keyUpdatedAt(lru: StoreDb, seq: number, key: string, txn?: ReadTxn): number {
  return lruTime(getBytes(lru, lruKeys.encodeWithSeq(seq, key), txn));
}

/**
 * The keys past their ttl, oldest first (at most `limit`): the head of the
 * LRU index up to the first key updated recently enough (read in `txn`, or
 * in the write transaction when none is given).
 */
export function staleKeys(lru: StoreDb, ttlMs: number, nowMs: number, limit = Infinity, txn?: ReadTxn): string[] {
  const stale: string[] = [];
  if (ttlMs <= 0) return stale;
  for (const { key, value } of lru.getRange({ transaction: txn })) {
    if (stale.length >= limit || !isStale(lruTime(value), ttlMs, nowMs)) break;
    stale.push(keyString(lruEntryKey(key)));
  }
  return stale;
}
