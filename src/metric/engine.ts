import { MetricStore, MetricUpdate } from './store/lmdb-store';
import type { ZoneDef } from './zone';

/**
 * The per-worker handle on the store. Config-time code holds the engine;
 * the store itself opens in the worker (LMDB allows one environment per
 * process), so request-time code reads `engine.store`.
 */
export class MetricEngine {
  store: MetricStore | undefined;
  readonly zones = new Map<string, ZoneDef>();
  dir = 'data';
  private syncTimer: NodeJS.Timeout | undefined;
  /** Reported once per failure kind so a broken store cannot flood the error log. */
  private lastError = '';

  open(absDir: string): void {
    if (this.zones.size === 0) return;
    this.store = MetricStore.open(absDir, [...this.zones.values()]);
    // Commits reach the OS page cache at once (safe against crashes); flushing to disk each second
    // bounds what a power failure can take.
    this.syncTimer = setInterval(() => void this.store?.sync().catch((e) => this.report(e)), 1000);
    this.syncTimer.unref();
  }

  /** Applies one request phase's updates in one transaction; a store failure never fails the request. */
  apply(updates: MetricUpdate[]): void {
    if (updates.length === 0 || this.store === undefined) return;
    try {
      this.store.applyBatch(updates);
    } catch (e) {
      this.report(e);
    }
  }

  keyText(zone: string, key: string, sub?: string): string | undefined {
    if (this.store === undefined) return undefined;
    try {
      return this.store.keyStateText(zone, key, sub);
    } catch (e) {
      this.report(e);
      return undefined;
    }
  }

  async close(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    const store = this.store;
    this.store = undefined;
    if (store === undefined) return;
    await store.sync().catch(() => undefined);
    store.close();
  }

  private report(e: unknown): void {
    const msg = `metric store: ${(e as Error)?.message ?? String(e)}`;
    if (msg === this.lastError) return;
    this.lastError = msg;
    process.emitWarning(msg);
  }
}
