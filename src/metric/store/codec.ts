/**
 * The store's binary records. Everything is a run of little-endian doubles,
 * so encoding and decoding are one memcpy into a Float64Array that stays
 * allocated for the store's lifetime (no JSON, no per-update garbage).
 *
 *   key record   [seq][state of every sub-metric ...]
 *   zone meta    [key chunks][discarded][keys][seq][is expired][lru stale][chunk allocations][discard key state ...]
 *   LRU entry    key: [seq u64 BE][key bytes]   value: empty
 */
import { MAX_METRIC_BYTES } from '../strtod';

/** A Float64Array with a Buffer over the same bytes, for LMDB to read from. */
export interface DoubleRecord {
  readonly f64: Float64Array;
  readonly bytes: Buffer;
}

export function doubleRecord(length: number): DoubleRecord {
  const f64 = new Float64Array(length);
  return { f64, bytes: Buffer.from(f64.buffer) };
}

/** Copies a stored record into `into`; the sizes must agree exactly. */
export function decodeInto(stored: Buffer, into: DoubleRecord): void {
  if (stored.length !== into.bytes.length) {
    throw new Error(`metric store: record of ${stored.length} bytes where ${into.bytes.length} were expected`);
  }
  into.bytes.set(stored);
}

/** Slot of the key record holding the LRU sequence number; state follows it. */
export const RECORD_SEQ = 0;
export const RECORD_STATE = 1;

/** Slots of the zone meta record. */
export const META = {
  keyChunks: 0,
  discarded: 1,
  keys: 2,
  seq: 3,
  isExpired: 4,
  /** Set by expire=off writers (they skip the LRU index); expire=on rebuilds it. */
  lruStale: 5,
  /** Chunks ever handed to keys (Angie's slab `reqs` that succeeded; `discarded` counts those that failed). */
  allocs: 6,
  discardState: 7,
} as const;

/**
 * Reusable key buffers: one scratch area and a view of every length over
 * it, so turning a byte-string key into an LMDB key allocates nothing.
 */
export class KeyBuffers {
  private readonly scratch: Buffer;
  private readonly views: Buffer[] = [];

  constructor(private readonly prefix: number) {
    this.scratch = Buffer.alloc(prefix + MAX_METRIC_BYTES);
    for (let n = 0; n <= this.scratch.length; n++) this.views.push(this.scratch.subarray(0, n));
  }

  /** `key` (a byte string of at most 255 bytes) after the prefix bytes. */
  encode(key: string): Buffer {
    const n = this.scratch.write(key, this.prefix, 'latin1');
    return this.views[this.prefix + n];
  }

  /** As encode, with a u64 big-endian sequence number as the prefix. */
  encodeWithSeq(seq: number, key: string): Buffer {
    writeSeq(this.scratch, seq);
    return this.encode(key);
  }
}

/** u64 BE, so LMDB's byte order is sequence order. Sequences stay below 2^53. */
function writeSeq(into: Buffer, seq: number): void {
  into.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
  into.writeUInt32BE(seq % 2 ** 32, 4);
}

export const LRU_PREFIX = 8;

/** The key bytes of an LRU entry. */
export function lruEntryKey(entry: Buffer): Buffer {
  return entry.subarray(LRU_PREFIX);
}

/** A key as the rest of metricproxy sees it: a byte string. */
export function keyString(bytes: Buffer): string {
  return bytes.toString('latin1');
}

