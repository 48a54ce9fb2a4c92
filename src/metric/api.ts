import { ApiNode, ApiObjectNode, lazyObject, ReadCtx } from '../api/tree';
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
