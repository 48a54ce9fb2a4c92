import { ApiNode, ApiObjectNode, fromValue, lazyObject, ReadCtx } from '../api/tree';
import type { SlabView } from '../status/slabs';
import type { MetricEngine } from './engine';
import type { MetricReader } from './store/reader';
import type { MetricValue } from './value';
import { apiKeyName, keyFromApiName } from './zone';

function valueNode(v: MetricValue): ApiNode {
  if (typeof v === 'number') return v;
  return lazyObject(
    () => v.keys(),
    (name) => {
      const member = v.get(name);
      return member === undefined ? undefined : valueNode(member);
    },
  );
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

function zoneNode(engine: MetricEngine, zone: string): ApiObjectNode {
  const metrics = lazyObject(
    (ctx) => (readerOf(engine, ctx)?.keys(zone) ?? []).map(apiKeyName),
    (name, ctx) => {
      const v = readerOf(engine, ctx)?.get(zone, keyFromApiName(name));
      return v === undefined ? undefined : valueNode(v);
    },
  );
  return lazyObject(
    () => ['discarded', 'metrics'],
    (name, ctx) => {
      if (name === 'discarded') return readerOf(engine, ctx)?.discarded(zone) ?? 0;
      return name === 'metrics' ? metrics : undefined;
    },
  );
}

/** `/status/http/metric_zones/`: one node per zone, in config order. */
export function metricZonesNode(engine: MetricEngine): ApiObjectNode {
  const nodes = new Map<string, ApiObjectNode>();
  for (const zone of engine.zones.keys()) nodes.set(zone, zoneNode(engine, zone));
  return lazyObject(
    () => nodes.keys(),
    (name) => nodes.get(name),
  );
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
