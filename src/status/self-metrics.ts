import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import type { WorkerRecords } from '../store/worker-records';

/** How often a worker publishes its process metrics for the others to show. */
export const PUBLISH_EVERY_MS = 1000;
/** A worker that has not published for this long is gone: its series are left out. */
const STALE_AFTER_MS = 3 * PUBLISH_EVERY_MS;

type Metrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface ProcessRecord {
  beat: number;
  metrics: Metrics;
}

/** JSON has no Infinity or NaN (a gauge not yet set reads NaN): such sample values travel as strings. */
const NON_FINITE: Record<string, number> = { '+Inf': Infinity, '-Inf': -Infinity, NaN: NaN };

function encodeNonFinite(_key: string, v: unknown): unknown {
  if (typeof v !== 'number' || Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

/** Only sample values: labels are strings already (prom-client spells the last bucket `le="+Inf"`). */
function decodeNonFinite(key: string, v: unknown): unknown {
  return key === 'value' && typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v;
}

/**
 * metricproxy's own process metrics (event-loop lag, heap, GC, handles) from
 * prom-client's default collectors, one registry per worker labelled
 * `worker="PID"`. Each worker publishes its registry into the store every
 * second and right before it answers, so one scrape shows every live worker.
 */
export class SelfMetrics {
  private readonly registry = new Registry();
  private records: WorkerRecords | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly worker: number) {
    this.registry.setDefaultLabels({ worker: String(worker) });
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  open(records: WorkerRecords): void {
    this.records = records;
    this.timer = setInterval(() => void this.publish().catch((e) => process.emitWarning(`process metrics: ${e}`)), PUBLISH_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.records = undefined;
  }

  /** The exposition text: this worker's fresh metrics and every other live worker's last published ones. */
  async render(nowMs = Date.now()): Promise<string> {
    const own = await this.publish(nowMs);
    const published = this.records === undefined ? [] : [...this.records.all('process')];
    const others = published
      .filter(([worker]) => worker !== this.worker)
      .map(([, json]) => JSON.parse(json, decodeNonFinite) as ProcessRecord)
      .filter((r) => nowMs - r.beat <= STALE_AFTER_MS)
      .map((r) => r.metrics);
    // Every worker's series carry its own `worker` label, so aggregating only groups them into families.
    return AggregatorRegistry.aggregate([own, ...others]).metrics();
  }

  private async publish(nowMs = Date.now()): Promise<Metrics> {
    const metrics = await this.registry.getMetricsAsJSON();
    this.records?.put('process', JSON.stringify({ beat: nowMs, metrics }, encodeNonFinite));
    return metrics;
  }
}
