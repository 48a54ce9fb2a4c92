import { ApiNode, ApiObjectNode, lazyObject, ReadCtx, resettable } from '../api/tree';
import type { MetricEngine } from './engine';
import type { MetricReader } from './store/reader';
import type { MetricValue } from './value';
import { apiKeyName, keyFromApiName } from './zone';

function valueNode(v: MetricValue): ApiNode {
  if (typeof v === 'number' || v === null) return v;
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

/** `/status/slabs/`: per-zone memory use in Angie's pages, plus our chunk and key counts. */
export function slabsNode(engine: MetricEngine): ApiObjectNode {
  return lazyObject(
    () => engine.zones.keys(),
    (zone, ctx) => {
      if (!engine.zones.has(zone)) return undefined;
      const reader = readerOf(engine, ctx);
      if (reader === undefined) return undefined;
      const u = reader.usage(zone);
      const pages = u.chunksTotal / CHUNKS_PER_PAGE;
      const used = Math.ceil(u.chunksUsed / CHUNKS_PER_PAGE);
      return valueNode(
        new Map<string, MetricValue>([
          ['pages', new Map([['used', used], ['free', pages - used]])],
          ['chunks', new Map([['used', u.chunksUsed], ['total', u.chunksTotal]])],
          ['keys', u.keys],
        ]),
      );
    },
  );
}
