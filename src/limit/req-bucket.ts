/**
 * nginx's limit_req leaky bucket (ngx_http_limit_req_module.c), on records
 * in the shared store instead of a shared-memory rbtree. Times are
 * milliseconds; `excess` and rates are in thousandths of a request, with
 * nginx's integer arithmetic. Every function runs inside the caller's one
 * write transaction, so a request's lookups and accounting are atomic
 * across workers (nginx's per-node `count` guard is not needed).
 */
import type { KvTxn } from '../store/kv';
import type { SharedZone } from './shared-zone';

/** A key's node: [last ms][excess][touch ms][key bytes] as f64. */
interface ReqNode {
  stored: Buffer;
  last: number;
  excess: number;
  /** When the node last moved to the head of the LRU queue. */
  touch: number;
  keyBytes: number;
}

export type LookupResult = 'ok' | 'again' | 'busy' | 'error';

export interface Lookup {
  rc: LookupResult;
  /** The excess the request would make (0 for a new node). */
  excess: number;
}

/** One `limit_req` of a location: its zone and parameters in thousandths. */
export interface ReqLimit {
  zone: SharedZone;
  rate: number;
  burst: number;
  delay: number;
}

const NODE_FIELDS = 4;

function readNode(t: KvTxn, zone: SharedZone, stored: Buffer): ReqNode | undefined {
  const v = t.get(zone.recordKey(stored));
  if (v === null || v.length !== NODE_FIELDS * 8) return undefined;
  return { stored, last: v.readDoubleLE(0), excess: v.readDoubleLE(8), touch: v.readDoubleLE(16), keyBytes: v.readDoubleLE(24) };
}

function writeNode(t: KvTxn, zone: SharedZone, n: ReqNode): void {
  const v = Buffer.allocUnsafe(NODE_FIELDS * 8);
  v.writeDoubleLE(n.last, 0);
  v.writeDoubleLE(n.excess, 8);
  v.writeDoubleLE(n.touch, 16);
  v.writeDoubleLE(n.keyBytes, 24);
  t.put(zone.recordKey(n.stored), v);
}

/** nginx's clamp of the time since `last`: a clock jump back of over a minute counts as 1 ms. */
export function elapsedMs(now: number, last: number): number {
  const ms = now - last;
  if (ms < -60000) return 1;
  return ms < 0 ? 0 : ms;
}

/** The excess after `ms` of leaking plus this request (nginx: excess - rate*ms/1000 + 1000, at least 0). */
export function excessAfter(excess: number, rate: number, ms: number): number {
  const e = excess - Math.floor((rate * ms) / 1000) + 1000;
  return e < 0 ? 0 : e;
}

/** How long a request making `excess` waits: nginx's (excess - delay) * 1000 / rate, in whole ms. */
export function delayFor(excess: number, limit: ReqLimit): number {
  return excess <= limit.delay ? 0 : Math.floor(((excess - limit.delay) * 1000) / limit.rate);
}

/** Moves a node to the head of the LRU queue (a no-op within the same millisecond). */
function touch(t: KvTxn, zone: SharedZone, n: ReqNode, now: number): void {
  if (n.touch === now) return;
  t.del(zone.lruKey(n.touch, n.stored));
  n.touch = now;
  t.put(zone.lruKey(now, n.stored), Buffer.alloc(0));
}

function removeNode(t: KvTxn, zone: SharedZone, meta: Float64Array, n: ReqNode): void {
  t.del(zone.lruKey(n.touch, n.stored));
  t.del(zone.recordKey(n.stored));
  meta[0] -= zone.nodeBytes(n.keyBytes);
}

/** The least recently used node, if any. */
function oldest(t: KvTxn, zone: SharedZone): ReqNode | undefined {
  let stored: Buffer | undefined;
  t.scan(zone.lruPrefix, (key) => {
    stored = zone.storedFromLru(key);
    return false;
  });
  return stored === undefined ? undefined : readNode(t, zone, stored);
}

/**
 * nginx's ngx_http_limit_req_expire: from the LRU tail, deletes up to two
 * nodes idle for a minute whose bucket has drained; `force` first deletes
 * the oldest node whatever its state.
 */
function expire(t: KvTxn, zone: SharedZone, meta: Float64Array, rate: number, now: number, force: boolean): void {
  for (let n = force ? 0 : 1; n < 3; n++) {
    const node = oldest(t, zone);
    if (node === undefined) return;
    if (n !== 0) {
      const ms = Math.abs(now - node.last);
      if (ms < 60000) return;
      if (node.excess - Math.floor((rate * ms) / 1000) > 0) return;
    }
    removeNode(t, zone, meta, node);
  }
}

/** A new node for `stored`, if the zone has room (after expiring as nginx does). */
function allocate(t: KvTxn, zone: SharedZone, meta: Float64Array, limit: ReqLimit, keyBytes: number, now: number): boolean {
  const need = zone.nodeBytes(keyBytes);
  expire(t, zone, meta, limit.rate, now, false);
  if (meta[0] + need > zone.capacity) expire(t, zone, meta, limit.rate, now, true);
  if (meta[0] + need > zone.capacity) return false;
  meta[0] += need;
  return true;
}

/**
 * ngx_http_limit_req_lookup: the request's excess for `key`; `account`
 * (the location's last limit) stores it. Earlier limits are stored by
 * accountEarlier once every limit has let the request through.
 */
export function lookup(t: KvTxn, limit: ReqLimit, meta: Float64Array, key: string, account: boolean, now: number): Lookup {
  const zone = limit.zone;
  const stored = zone.storedKey(key);
  const node = readNode(t, zone, stored);
  if (node !== undefined) {
    touch(t, zone, node, now);
    const ms = elapsedMs(now, node.last);
    const excess = excessAfter(node.excess, limit.rate, ms);
    if (excess > limit.burst) {
      writeNode(t, zone, node);
      return { rc: 'busy', excess };
    }
    if (account) {
      node.excess = excess;
      if (ms !== 0) node.last = now;
      zone.onAccept?.(stored);
    }
    writeNode(t, zone, node);
    return { rc: account ? 'ok' : 'again', excess };
  }
  const keyBytes = Buffer.byteLength(key, 'latin1');
  if (!allocate(t, zone, meta, limit, keyBytes, now)) return { rc: 'error', excess: 0 };
  // An unaccounted node starts drained (last = 0), as nginx's.
  const fresh: ReqNode = { stored, last: account ? now : 0, excess: 0, touch: now, keyBytes };
  t.put(zone.lruKey(now, stored), Buffer.alloc(0));
  writeNode(t, zone, fresh);
  if (account) zone.onAccept?.(stored);
  return { rc: account ? 'ok' : 'again', excess: 0 };
}

/** ngx_http_limit_req_account for one earlier limit: stores its excess and returns it. */
export function accountEarlier(t: KvTxn, limit: ReqLimit, key: string, now: number): number {
  const zone = limit.zone;
  const stored = zone.storedKey(key);
  const node = readNode(t, zone, stored);
  if (node === undefined) return 0;
  const ms = elapsedMs(now, node.last);
  node.excess = excessAfter(node.excess, limit.rate, ms);
  if (ms !== 0) node.last = now;
  zone.onAccept?.(stored);
  writeNode(t, zone, node);
  return node.excess;
}

/**
 * A key's level at `now`: its excess drained by `rate` since its last
 * request, before nginx's clamp at 0 and down to -1000 (one request's
 * credit, what a drained key's next request uses); -1000 without a node.
 */
export function currentLevel(t: KvTxn, zone: SharedZone, rate: number, stored: Buffer, now: number): number {
  const node = readNode(t, zone, stored);
  if (node === undefined) return -1000;
  return Math.max(-1000, node.excess - Math.floor((rate * elapsedMs(now, node.last)) / 1000));
}

/**
 * The fleet sync's write (src/fleet/req-sync.ts): the key's level as of
 * `now` (the time it was true, which may be a little past; a negative
 * level is stored as an earlier last request), the node made if the zone
 * has room; a drained key needs none.
 */
export function setLevel(t: KvTxn, limit: ReqLimit, meta: Float64Array, stored: Buffer, level: number, now: number): void {
  const zone = limit.zone;
  let node = readNode(t, zone, stored);
  if (node === undefined) {
    const keyBytes = stored.length - 1;
    if (level <= -1000 || !allocate(t, zone, meta, limit, keyBytes, now)) return;
    node = { stored, last: now, excess: 0, touch: now, keyBytes };
    t.put(zone.lruKey(now, stored), Buffer.alloc(0));
  }
  node.excess = Math.max(0, level);
  node.last = level < 0 ? now - Math.ceil((-level * 1000) / limit.rate) : now;
  writeNode(t, zone, node);
}
