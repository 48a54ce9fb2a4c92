import { createHash } from 'node:crypto';
import { ConfigError } from '../config/errors';
import { parseSize } from '../config/values';
import type { ComplexValue } from '../http/variables';
import { slabPages } from '../store/slab';
import type { SyncTarget } from '../config/sync-target';

export type LimitKind = 'limit_req' | 'limit_conn';

/** A `limit_req_zone` / `limit_conn_zone` as configured. */
export interface LimitZoneDef {
  kind: LimitKind;
  name: string;
  size: number;
  key: ComplexValue;
  /** limit_req only: requests per second in thousandths (nginx's `ctx->rate`). */
  rate: number;
  /** limit_req only: the fleet's Redis (`sync=`), see src/fleet/. */
  sync?: SyncTarget;
}

/** nginx's `8 * ngx_pagesize`. */
export const MIN_LIMIT_ZONE_SIZE = 8 * 4096;

/** `zone=name:size`, nginx's checks and messages (they quote the whole argument). */
export function parseZoneArg(arg: string): { name: string; size: number } {
  const spec = arg.slice('zone='.length);
  const colon = spec.lastIndexOf(':');
  const size = colon <= 0 ? undefined : parseSize(spec.slice(colon + 1));
  if (size === undefined || size === 0) throw new ConfigError(`invalid zone size "${arg}"`);
  if (size < MIN_LIMIT_ZONE_SIZE) throw new ConfigError(`zone "${arg}" is too small`);
  return { name: spec.slice(0, colon), size };
}

/** `rate=Nr/s` or `Nr/m` (a bare N is per second), in thousandths of a request per second. */
export function parseRate(arg: string): number {
  const text = arg.slice('rate='.length);
  const scale = text.endsWith('r/m') ? 60 : 1;
  const digits = text.endsWith('r/s') || text.endsWith('r/m') ? text.slice(0, -3) : text;
  const rate = /^\d+$/.test(digits) ? Number(digits) : 0;
  if (rate <= 0 || !Number.isSafeInteger(rate * 1000)) throw new ConfigError(`invalid rate "${arg}"`);
  return Math.floor((rate * 1000) / scale);
}

/**
 * What decides whether stored state is kept at load: the key and the size
 * (nginx keeps a zone's state when only the rate changes).
 */
export function limitFingerprint(def: LimitZoneDef): string {
  return createHash('sha1').update(JSON.stringify([def.kind, def.key.source, def.size])).digest('hex').slice(0, 16);
}

const PAGE = 4096;

/** nginx's slab slot for an allocation: a power of two from 8 bytes, whole pages above half a page. */
export function slabSlot(bytes: number): number {
  if (bytes > PAGE / 2) return Math.ceil(bytes / PAGE) * PAGE;
  let slot = 8;
  while (slot < bytes) slot *= 2;
  return slot;
}

/**
 * Node sizes on 64-bit nginx: the rbtree node up to `color` (32 bytes),
 * then ngx_http_limit_req_node_t up to `data` (48) or
 * ngx_http_limit_conn_node_t up to `data` (4), then the key bytes.
 */
const NODE_HEADER: Record<LimitKind, number> = { limit_req: 32 + 48, limit_conn: 32 + 4 };

/** The zone's shared context and its log context take a slot each. */
const ZONE_OVERHEAD = 128 + 64;

export function nodeBytes(kind: LimitKind, keyBytes: number): number {
  return slabSlot(NODE_HEADER[kind] + keyBytes);
}

/** What a zone of `size` bytes can give to nodes: its slab pages, less its own context. */
export function zoneCapacity(size: number): number {
  return slabPages(size) * PAGE - ZONE_OVERHEAD;
}

/** Longest key nginx limits by (longer keys are logged and not limited). */
export const MAX_KEY_BYTES: Record<LimitKind, number> = { limit_req: 65535, limit_conn: 255 };
