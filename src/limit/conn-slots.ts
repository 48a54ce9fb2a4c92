/**
 * limit_conn's counts in the shared store: per key, how many requests each
 * worker holds ([key bytes u32][pid u32, count u32]...), so two workers
 * never admit more than N together and a crashed worker's slots can be
 * swept by the next worker to start. All in the caller's one write
 * transaction, so a check and its increment are atomic across workers.
 */
import { processExists } from '../store/worker-records';
import type { SharedZone } from './shared-zone';
import type { LimitTxn } from './space';

/** Counter indexes, as COUNTERS.limit_conn lists them. */
const PASSED = 0;
const SKIPPED = 1;
const REJECTED = 2;
const EXHAUSTED = 3;

export interface ConnLimit {
  zone: SharedZone;
  conn: number;
}

/** A slot a request holds until it ends. */
export interface HeldSlot {
  zone: SharedZone;
  stored: Buffer;
  keyBytes: number;
}

interface ConnNode {
  keyBytes: number;
  holders: Map<number, number>;
}

export type ConnDecision = { kind: 'declined' | 'passed'; held: HeldSlot[] } | { kind: 'rejected' | 'exhausted'; zone: string };

function readNode(tx: LimitTxn, zone: SharedZone, stored: Buffer): ConnNode | undefined {
  const v = tx.t.get(zone.recordKey(stored));
  return v === null ? undefined : decodeNode(v);
}

function decodeNode(v: Buffer): ConnNode {
  const holders = new Map<number, number>();
  for (let off = 4; off + 8 <= v.length; off += 8) holders.set(v.readUInt32LE(off), v.readUInt32LE(off + 4));
  return { keyBytes: v.readUInt32LE(0), holders };
}

function total(node: ConnNode): number {
  let sum = 0;
  for (const n of node.holders.values()) sum += n;
  return sum;
}

/** Writes the node back, or deletes it (freeing its bytes) once nobody holds a slot. */
function writeNode(tx: LimitTxn, zone: SharedZone, stored: Buffer, node: ConnNode): void {
  for (const [pid, n] of node.holders) if (n <= 0) node.holders.delete(pid);
  if (node.holders.size === 0) {
    tx.t.del(zone.recordKey(stored));
    tx.meta(zone)[0] -= zone.nodeBytes(node.keyBytes);
    return;
  }
  const v = Buffer.allocUnsafe(4 + 8 * node.holders.size);
  v.writeUInt32LE(node.keyBytes, 0);
  let off = 4;
  for (const [pid, n] of node.holders) {
    v.writeUInt32LE(pid, off);
    v.writeUInt32LE(n, off + 4);
    off += 8;
  }
  tx.t.put(zone.recordKey(stored), v);
}

/**
 * ngx_http_limit_conn_handler: every limit with a key must have a free
 * slot (and a new key room in its zone); then all are taken at once.
 * Counters as Angie's: `passed` or `skipped` (empty key) for each limit
 * unless one refused, which counts `rejected` or `exhausted`.
 */
export function acquire(tx: LimitTxn, limits: readonly ConnLimit[], keys: readonly string[], pid: number): ConnDecision {
  const held: HeldSlot[] = [];
  for (let i = 0; i < limits.length; i++) {
    if (keys[i] === '') continue;
    const { zone, conn } = limits[i];
    const slot = { zone, stored: zone.storedKey(keys[i]), keyBytes: Buffer.byteLength(keys[i], 'latin1') };
    const node = readNode(tx, zone, slot.stored);
    if (node === undefined && tx.meta(zone)[0] + zone.nodeBytes(slot.keyBytes) > zone.capacity) {
      zone.count(EXHAUSTED);
      return { kind: 'exhausted', zone: zone.def.name };
    }
    if (node !== undefined && total(node) >= conn) {
      zone.count(REJECTED);
      return { kind: 'rejected', zone: zone.def.name };
    }
    held.push(slot);
  }
  for (const slot of held) take(tx, slot, pid, +1);
  for (let i = 0; i < limits.length; i++) limits[i].zone.count(keys[i] === '' ? SKIPPED : PASSED);
  return { kind: held.length > 0 ? 'passed' : 'declined', held };
}

function take(tx: LimitTxn, slot: HeldSlot, pid: number, delta: number): void {
  let node = readNode(tx, slot.zone, slot.stored);
  if (node === undefined) {
    if (delta < 0) return;
    node = { keyBytes: slot.keyBytes, holders: new Map() };
    tx.meta(slot.zone)[0] += slot.zone.nodeBytes(slot.keyBytes);
  }
  node.holders.set(pid, (node.holders.get(pid) ?? 0) + delta);
  writeNode(tx, slot.zone, slot.stored, node);
}

/** The request ended (completed, aborted, failed, tunnel closed): its slots are free again. */
export function release(tx: LimitTxn, held: readonly HeldSlot[], pid: number): void {
  for (const slot of held) take(tx, slot, pid, -1);
}

/** At worker start: slots held by workers that no longer exist (a crash) are freed. */
export function sweepDeadHolders(tx: LimitTxn, zone: SharedZone, alive: (pid: number) => boolean = processExists): void {
  const stale: Array<[Buffer, ConnNode]> = [];
  zone.scanRecords(tx.t, (key, value) => {
    const node = decodeNode(value);
    let changed = false;
    for (const pid of node.holders.keys()) {
      if (alive(pid)) continue;
      node.holders.delete(pid);
      changed = true;
    }
    if (changed) stale.push([key, node]);
  });
  for (const [key, node] of stale) writeNode(tx, zone, zone.storedFromRecordKey(key), node);
}
