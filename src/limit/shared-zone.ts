import { createHash } from 'node:crypto';
import type { KvTxn } from '../store/kv';
import { limitFingerprint, LimitZoneDef, nodeBytes, zoneCapacity } from './zone';

/** Angie's counters, in its order (`/status/http/limit_reqs/NAME`, `/limit_conns/NAME`). */
export const COUNTERS = {
  limit_req: ['passed', 'skipped', 'delayed', 'rejected', 'exhausted'],
  limit_conn: ['passed', 'skipped', 'rejected', 'exhausted'],
} as const;

/** Keys longer than this are stored by their SHA-256 (LMDB keys stop at 511 bytes). */
const MAX_STORED_KEY = 400;

/** Key-space tags in the shared database. */
const TAG = { current: 'c', meta: 'm', record: 'r', lru: 'q' } as const;

/**
 * One limit zone's records in the shared database, every key under the
 * zone's name and definition fingerprint:
 *   c NAME            → the fingerprint the newest config uses
 *   m NAME FP         → meta: [bytes used, ...counters] (f64 each)
 *   r NAME FP KEY     → the key's node (layout owned by the zone's module)
 *   q NAME FP T KEY   → LRU index, T = last touch in ms (u64 BE): oldest first
 * Counters are counted in memory and added to the meta record by the next
 * write transaction of this worker, so they cost no extra commit.
 */
export class SharedZone {
  readonly fingerprint: string;
  readonly capacity: number;
  readonly counterNames: readonly string[];
  readonly metaKey: Buffer;
  readonly lruPrefix: Buffer;
  private readonly recordPrefix: Buffer;
  private readonly pending: Float64Array;
  private hasPending = false;
  /** Set on a fleet-synced zone (src/fleet/): counts a request the bucket accepted, in memory... */
  onAccept?: (stored: Buffer) => void;
  /** ...and stores the counts with the meta record, in the same transaction. */
  onCommit?: (t: KvTxn) => void;
  /** Set on a fleet-synced zone: its `sync` branch of the status tree. */
  statusExtra?: (t: KvTxn) => Record<string, unknown>;

  constructor(readonly def: LimitZoneDef) {
    this.fingerprint = limitFingerprint(def);
    this.capacity = zoneCapacity(def.size);
    this.counterNames = COUNTERS[def.kind];
    this.pending = new Float64Array(this.counterNames.length);
    const base = `${def.name}\0${this.fingerprint}\0`;
    this.metaKey = Buffer.from(TAG.meta + base, 'latin1');
    this.recordPrefix = Buffer.from(TAG.record + base, 'latin1');
    this.lruPrefix = Buffer.from(TAG.lru + base, 'latin1');
  }

  /** The bytes a key's record is stored under: the key itself, or its hash when too long. */
  storedKey(key: string): Buffer {
    const raw = Buffer.from(key, 'latin1');
    if (raw.length <= MAX_STORED_KEY) return Buffer.concat([Buffer.of(0), raw]);
    return Buffer.concat([Buffer.of(1), createHash('sha256').update(raw).digest()]);
  }

  recordKey(stored: Buffer): Buffer {
    return Buffer.concat([this.recordPrefix, stored]);
  }

  storedFromRecordKey(recordKey: Buffer): Buffer {
    return recordKey.subarray(this.recordPrefix.length);
  }

  lruKey(touchMs: number, stored: Buffer): Buffer {
    const key = Buffer.alloc(this.lruPrefix.length + 8 + stored.length);
    this.lruPrefix.copy(key, 0);
    key.writeUIntBE(Math.max(0, touchMs), this.lruPrefix.length + 2, 6);
    stored.copy(key, this.lruPrefix.length + 8);
    return key;
  }

  /** The stored key an LRU index entry points at. */
  storedFromLru(lruKey: Buffer): Buffer {
    return lruKey.subarray(this.lruPrefix.length + 8);
  }

  nodeBytes(keyBytes: number): number {
    return nodeBytes(this.def.kind, keyBytes);
  }

  /** Counts one event of counter `index` (see COUNTERS) for the next write. */
  count(index: number): void {
    this.pending[index]++;
    this.hasPending = true;
  }

  get dirty(): boolean {
    return this.hasPending;
  }

  /** The meta record: [bytes used, ...counters]. */
  readMeta(t: KvTxn): Float64Array {
    const found = t.get(this.metaKey);
    const meta = new Float64Array(1 + this.counterNames.length);
    if (found !== null && found.length === meta.byteLength) meta.set(new Float64Array(found.buffer.slice(found.byteOffset, found.byteOffset + found.length)));
    return meta;
  }

  /** Writes the meta record back with this worker's pending counts added. */
  writeMeta(t: KvTxn, meta: Float64Array): void {
    if (this.hasPending) {
      for (let i = 0; i < this.pending.length; i++) meta[1 + i] += this.pending[i];
      this.pending.fill(0);
      this.hasPending = false;
    }
    t.put(this.metaKey, Buffer.from(meta.buffer, meta.byteOffset, meta.byteLength));
    this.onCommit?.(t);
  }

  /** Every record of this definition (for sweeps). */
  scanRecords(t: KvTxn, visit: (key: Buffer, value: Buffer) => void): void {
    t.scan(this.recordPrefix, visit);
  }

  /**
   * At worker start: if another definition of this zone name was in use,
   * everything stored under the name is dropped (a changed zone starts
   * empty); an unchanged one keeps its records and counters.
   */
  adopt(t: KvTxn): void {
    const currentKey = Buffer.from(TAG.current + this.def.name, 'latin1');
    const current = t.get(currentKey);
    if (current !== null && current.toString('latin1') === this.fingerprint) return;
    const doomed: Buffer[] = [];
    for (const tag of [TAG.meta, TAG.record, TAG.lru]) t.scan(Buffer.from(`${tag}${this.def.name}\0`, 'latin1'), (key) => void doomed.push(key));
    for (const key of doomed) t.del(key);
    t.put(currentKey, Buffer.from(this.fingerprint, 'latin1'));
  }
}
