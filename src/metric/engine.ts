import type { Builder } from '../http/builder';
import type { CommitQueue } from '../http/commit';
import type { OpenedStore } from '../store/environment';
import { MetricStore, type BoundUpdate } from './store/lmdb-store';
import type { ZoneWriter } from './store/zone-writer';
import type { ZoneDef } from './zone';
import { WarnOnChange } from '../http/log';

/**
 * A metric zone as the load binds it: `metric` directives and the
 * `$metric_` setters hold it, and while a worker's store is attached it
 * holds the zone's writer, so an update goes to its zone with no lookup by
 * name.
 */
export class MetricZone {
  writer: ZoneWriter | undefined;

  constructor(readonly def: ZoneDef) {}
}

/**
 * The per-worker handle on the store. Config-time code holds the engine;
 * the store itself opens in the worker (LMDB allows one environment per
 * process), so request-time code reads `engine.store`.
 */
export class MetricEngine {
  store: MetricStore | undefined;
  readonly zones = new Map<string, ZoneDef>();
  /** The zones bound at load, by name (what directives and variables hold). */
  readonly bound = new Map<string, MetricZone>();
  /** Updates recorded this loop turn, committed together by the commit queue. */
  private pending: BoundUpdate[] = [];
  private commits: CommitQueue | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Reported once per failure kind so a broken store cannot flood the error log. */
  private readonly failures = new WarnOnChange('metric store');

  /** Declares a zone at load: its definition by name, and the binding its users hold. */
  addZone(def: ZoneDef): MetricZone {
    const zone = new MetricZone(def);
    this.zones.set(def.name, def);
    this.bound.set(def.name, zone);
    return zone;
  }

  /** Attaches the zones to the worker's open store (store/service.ts), even without zones: /status/store reports it. */
  open(at: OpenedStore, commits: CommitQueue): void {
    this.store = MetricStore.attach(at, [...this.zones.values()], {
      // Emitted with the level as the warning's type: the worker logs it at that level.
      log: (level, text) => process.emitWarning(text, level),
    });
    for (const zone of this.bound.values()) zone.writer = this.store.writerOf(zone.def.name);
    this.commits = commits;
    commits.register(() => this.flush());
    // Readers hide keys past their ttl at once; the sweep gives their room back (at most once a second).
    if ([...this.zones.values()].some((z) => (z.ttl ?? 0) > 0)) {
      this.sweepTimer = setInterval(() => this.sweep(), 1000);
      this.sweepTimer.unref();
    }
  }

  /** API DELETE of a zone. This worker's pending updates came first: they commit, then go with the rest. */
  clearZone(zone: string): void {
    this.settle();
    this.store?.clearZone(zone);
  }

  /** API DELETE of one key (see clearZone); false when the zone shows no such key. */
  deleteKey(zone: string, key: string): boolean {
    this.settle();
    return this.store?.deleteKey(zone, key) ?? false;
  }

  private sweep(): void {
    try {
      this.store?.sweepExpired();
    } catch (e) {
      this.failures.report(e);
    }
  }

  /**
   * Records one update. It is committed with the next commit a response (or
   * a reader) waits for, in one transaction with every other update recorded
   * until then; nothing waits longer than the commit queue's LATER_MS.
   */
  record(zone: MetricZone, key: string, value: number): void {
    const writer = zone.writer;
    if (writer === undefined) return;
    this.pending.push({ writer, key, value });
    this.commits?.dirtyLater();
  }

  /** Commits what this worker recorded so far, before reading (variables, API). */
  settle(): void {
    this.commits?.flushNow();
  }

  /** A store failure never fails a request: the store counts and logs the lost batch (store/health.ts). */
  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0 || this.store === undefined) return;
    this.pending = [];
    this.store.applyBound(batch);
  }

  keyText(zone: string, key: string, sub?: string): string | undefined {
    if (this.store === undefined) return undefined;
    this.settle();
    try {
      return this.store.keyStateText(zone, key, sub);
    } catch (e) {
      this.failures.report(e);
      return undefined;
    }
  }

  /** Commits what is pending; the store service flushes and closes the environment after. */
  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.settle();
    for (const zone of this.bound.values()) zone.writer = undefined;
    this.store = undefined;
  }

}

/** The load's engine, shared by the modules that use the store (metric zones, status counters). */
export function metricEngine(b: Builder): MetricEngine {
  return b.moduleState('metric', () => new MetricEngine());
}
