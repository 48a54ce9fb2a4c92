import { ApiNode, ApiObjectNode, fromValue, lazyObject, ReadCtx, resettable } from '../api/tree';
import type { SlabView } from '../store/slabs';
import type { MetricEngine } from './engine';
import type { MetricReader } from './store/reader';
import type { MetricValue } from './value';
import { apiKeyName, keyFromApiName } from './zone';

function valueNode(v: MetricValue): ApiNode {
  return typeof v === 'number' || v === null ? v : new ValueMapNode(v);
}

/** A histogram or a complex key's value: a class, not closures, as one is made per key rendered. */
class ValueMapNode implements ApiObjectNode {
  readonly type = 'object' as const;

  constructor(private readonly map: ReadonlyMap<string, MetricValue>) {}

  keys(): Iterable<string> {
    return this.map.keys();
  }

  get(name: string): ApiNode | undefined {
    const member = this.map.get(name);
    return member === undefined ? undefined : valueNode(member);
  }
}

/** One read transaction per API response: every node of the answer sees the same snapshot. */
function readerOf(engine: MetricEngine, ctx: ReadCtx): MetricReader | undefined {
  const store = engine.store;
  if (store === undefined) return undefined;
  return ctx.use(
    'metric',
    () => {
      engine.settle();
      return store.reader();
    },
    (reader) => reader.close(),
  );
}

/** `?updated=on`: zones that keep update order (expire=on, ttl) also show each key's last update time. */
function showsUpdated(ctx: ReadCtx): boolean {
  return ctx.request !== undefined && /(?:^|&)updated=on(?:&|$)/.test(ctx.request.args);
}

/** `updated {KEY: ISO time}` of one zone, for `?updated=on`. */
function updatedNode(engine: MetricEngine, zone: string): ApiObjectNode {
  const at = (ctx: ReadCtx, key: string) => readerOf(engine, ctx)?.updatedAt(zone, key);
  return lazyObject(
    (ctx) => (readerOf(engine, ctx)?.keys(zone) ?? []).filter((key) => at(ctx, key) !== undefined).map(apiKeyName),
    (name, ctx) => {
      const ms = at(ctx, keyFromApiName(name));
      return ms === undefined ? undefined : new Date(ms).toISOString();
    },
  );
}

function zoneNode(engine: MetricEngine, zone: string): ApiObjectNode {
  const keys = lazyObject(
    (ctx) => (readerOf(engine, ctx)?.keys(zone) ?? []).map(apiKeyName),
    (name, ctx) => {
      const v = readerOf(engine, ctx)?.get(zone, keyFromApiName(name));
      return v === undefined ? undefined : valueNode(v);
    },
  );
  const metrics = resettable(keys, (key) => engine.deleteKey(zone, keyFromApiName(key)));
  const def = engine.zones.get(zone)!;
  const updated = def.expire || (def.ttl ?? 0) > 0 ? updatedNode(engine, zone) : undefined;
  const withUpdated = (ctx: ReadCtx) => updated !== undefined && showsUpdated(ctx);
  return lazyObject(
    (ctx) => (withUpdated(ctx) ? ['discarded', 'metrics', 'updated'] : ['discarded', 'metrics']),
    (name, ctx) => {
      if (name === 'discarded') return readerOf(engine, ctx)?.discarded(zone) ?? 0;
      if (name === 'updated') return withUpdated(ctx) ? updated : undefined;
      return name === 'metrics' ? metrics : undefined;
    },
  );
}

/** `/status/http/metric_zones/`: one node per zone, in config order. */
export function metricZonesNode(engine: MetricEngine): ApiObjectNode {
  const nodes = new Map<string, ApiObjectNode>();
  for (const zone of engine.zones.keys()) nodes.set(zone, zoneNode(engine, zone));
  const zones = lazyObject(
    () => nodes.keys(),
    (name) => nodes.get(name),
  );
  return resettable(zones, (zone) => {
    if (!nodes.has(zone)) return false;
    engine.clearZone(zone);
    return true;
  });
}

const CHUNKS_PER_PAGE = 32;
/** Angie's metric zones take every piece from the slab allocator's 128-byte slot (NGX_HTTP_METRIC_SLAB_SIZE). */
const SLOT = '128';

/**
 * `/status/slabs/ZONE` as Angie's ngx_slab.c shows a metric zone's pool:
 * pages in use and free, and the one slot size it allocates from, with
 * `reqs` (allocations tried) and `fails` (found the zone full: each one is
 * also a `discarded`). Pages hold whole chunks here, none half-empty.
 */
export function metricSlabView(engine: MetricEngine, zone: string): SlabView {
  return (ctx) => {
    const u = readerOf(engine, ctx)?.usage(zone);
    if (u === undefined) return undefined;
    const pagesUsed = Math.ceil(u.chunksUsed / CHUNKS_PER_PAGE);
    const slotTotal = pagesUsed * CHUNKS_PER_PAGE;
    const slot = { used: u.chunksUsed, free: slotTotal - u.chunksUsed, reqs: u.allocs + u.fails, fails: u.fails };
    return fromValue({ pages: { used: pagesUsed, free: u.chunksTotal / CHUNKS_PER_PAGE - pagesUsed }, slots: { [SLOT]: slot } });
  };
}

/** `/status/metricproxy/slabs/`: metricproxy's own numbers for each metric zone (chunks, keys), beside Angie's objects. */
export function metricproxySlabsNode(engine: MetricEngine): ApiObjectNode {
  return lazyObject(
    () => engine.zones.keys(),
    (zone, ctx) => {
      if (!engine.zones.has(zone)) return undefined;
      const u = readerOf(engine, ctx)?.usage(zone);
      return u === undefined ? undefined : fromValue({ chunks: { used: u.chunksUsed, total: u.chunksTotal }, keys: u.keys });
    },
  );
}

/**
 * `/status/store/`: the metric store's own health, summed over every worker:
 * commits, failed commits, updates lost to them (or to a full store), and the
 * data file's used bytes against its size (`metric_store PATH size=`).
 */
export function storeNode(engine: MetricEngine): ApiObjectNode {
  const report = (ctx: ReadCtx) =>
    ctx.use('metric-store', () => (engine.settle(), engine.store?.report()), () => undefined);
  const fields = { commits: 'commits', failures: 'failures', lost_updates: 'lostUpdates', used: 'usedBytes', size: 'sizeBytes' } as const;
  return lazyObject(
    () => Object.keys(fields),
    (name, ctx) => {
      const field = fields[name as keyof typeof fields];
      return field === undefined ? undefined : (report(ctx)?.[field] ?? 0);
    },
  );
}
