/**
 * What an operator sees of a zone's sync (`sync` in the zone's status
 * branch) and the error log lines of an outage: one line when the zone
 * falls back to its share, one when the sync is back. Kept by the worker
 * that syncs, stored in the limit database so every worker's status
 * answers the same.
 */
import type { KvTxn } from '../store/kv';
import type { SyncTarget } from '../config/sync-target';

export type SyncState = 'starting' | 'synced' | 'degraded';

export interface SyncView {
  url: string;
  interval_ms: number;
  state: SyncState;
  /** Instances whose heartbeats Redis saw within the heartbeat TTL (last known while degraded). */
  instances: number;
  /** The part of the limit this instance enforces alone: 1 when synced, 1/instances when degraded. */
  share: number;
  last_sync: string | null;
  failures: number;
  last_error: string | null;
}

/** A worker's first connection gets this long before a failure counts as an outage. */
const STARTUP_GRACE_MS = 2000;

export class SyncStatus {
  private readonly key: Buffer;
  /** When this worker first tried Redis, until it got through: its connection's grace runs from then. */
  private connectingSince: number | undefined;
  private connected = false;
  private view: SyncView;

  constructor(
    private readonly what: string,
    readonly target: SyncTarget,
    /** What the zone does without Redis, for the outage's log line. */
    private readonly fallback: (instances: number) => string,
  ) {
    this.key = Buffer.from(`Fleet\0s\0${what}`, 'latin1');
    this.view = { url: target.url, interval_ms: target.intervalMs, state: 'starting', instances: 1, share: 1, last_sync: null, failures: 0, last_error: null };
  }

  get instances(): number {
    return this.view.instances;
  }

  get degraded(): boolean {
    return this.view.state === 'degraded';
  }

  synced(instances: number): void {
    this.connected = true;
    if (this.view.state === 'degraded') process.emitWarning(`${this.what}: sync with ${this.target.url} restored`, 'notice');
    this.view = { ...this.view, state: 'synced', instances: Math.max(1, instances), share: 1, last_sync: new Date().toISOString() };
  }

  /** A failed sync; false while this worker's first connection is still within its grace. */
  failed(e: unknown): boolean {
    const error = (e as Error)?.message ?? String(e);
    this.view = { ...this.view, failures: this.view.failures + 1, last_error: error };
    this.connectingSince ??= Date.now();
    if (!this.connected && this.view.state !== 'degraded' && Date.now() - this.connectingSince < STARTUP_GRACE_MS) return false;
    if (this.view.state !== 'degraded') process.emitWarning(`${this.what}: sync with ${this.target.url} failed (${error}), ${this.fallback(this.view.instances)}`, 'error');
    this.view = { ...this.view, state: 'degraded', share: 1 / this.view.instances };
    return true;
  }

  /**
   * A worker that takes the sync over (a reload, a crashed holder) goes on
   * from what the last holder stored: its live instances (the share if
   * Redis is away now), its counts, and an outage it already logged.
   */
  resume(t: KvTxn): void {
    if (this.view.state !== 'starting') return;
    const v = t.get(this.key);
    if (v !== null) this.view = { ...(JSON.parse(v.toString('utf8')) as SyncView), url: this.target.url, interval_ms: this.target.intervalMs };
  }

  /** Stores the view for every worker's status (inside the sync's transaction). */
  save(t: KvTxn): void {
    t.put(this.key, Buffer.from(JSON.stringify(this.view), 'utf8'));
  }

  /** The zone's `sync` branch, as the syncing worker last stored it. */
  read(t: KvTxn): { sync: SyncView } {
    const v = t.get(this.key);
    return { sync: v === null ? this.view : (JSON.parse(v.toString('utf8')) as SyncView) };
  }
}
