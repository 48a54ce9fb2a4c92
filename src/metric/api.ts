import { ApiNode, ApiObjectNode, lazyObject, ReadCtx } from '../api/tree';
import type { MetricEngine } from './engine';
import type { MetricReader } from './store/reader';
import type { MetricValue } from './value';
import { apiKeyName, keyFromApiName } from './zone';

function valueNode(v: MetricValue): ApiNode {
  return typeof v === 'number' ? v : new ValueMapNode(v);
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
