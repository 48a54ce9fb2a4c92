/**
 * The fleet sync of one instance: in every worker a lease tick, and in the
 * lease holder one loop per synced zone, each on its own period. A loop
 * waits for its sync to end before the next (a slow Redis never piles
 * calls up); the requests never wait for any of it.
 */
import type Redis from 'ioredis';
import type { SyncTarget } from '../config/sync-target';
import { FleetLease, LEASE_TICK_MS } from './lease';
import { RedisPool } from './redis';

export interface SyncJob {
  readonly target: SyncTarget;
  /** How often the job exchanges with Redis. */
  readonly periodMs: number;
  /** One exchange with Redis; throws (after falling back) when it failed. */
  sync(client: Redis): Promise<void>;
}

export class FleetRunner {
  private readonly pool = new RedisPool();
  private readonly timers = new Set<NodeJS.Timeout>();
  private held = false;
  private stopped = false;

  constructor(
    private readonly jobs: readonly SyncJob[],
    private readonly lease: FleetLease,
  ) {}

  start(): void {
    this.tickLease();
    for (const job of this.jobs) this.loop(job);
  }

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private tickLease(): void {
    this.held = this.lease.hold();
    this.later(() => this.tickLease(), LEASE_TICK_MS);
  }

  private loop(job: SyncJob): void {
    const started = Date.now();
    const next = () => this.later(() => this.loop(job), Math.max(0, job.periodMs - (Date.now() - started)));
    if (!this.held) return next();
    // A failed sync has fallen back and logged already; the next period tries again.
    job.sync(this.pool.client(job.target)).catch(() => undefined).finally(next);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.held) this.lease.drop();
    this.pool.close();
  }
}
