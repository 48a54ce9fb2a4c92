import { fromValue, type ApiNode } from '../api/tree';
import { ConfigError } from '../config/errors';
import type { Builder } from '../http/builder';
import type { CommitQueue } from '../http/commit';
import type { Runtime } from '../http/runtime';
import { KvDatabase, type KvTxn } from '../store/kv';
import { SharedZone } from './shared-zone';
import type { LimitKind, LimitZoneDef } from './zone';
import { WarnOnChange } from '../http/log';

/** How often a worker adds counts it could not piggyback on a limit write (skipped requests). */
const COUNTER_FLUSH_MS = 100;

/** One write transaction's view: the records, and each touched zone's meta read once. */
export class LimitTxn {
  private readonly metas = new Map<SharedZone, Float64Array>();

  constructor(readonly t: KvTxn) {}

  meta(zone: SharedZone): Float64Array {
    let m = this.metas.get(zone);
    if (m === undefined) this.metas.set(zone, (m = zone.readMeta(this.t)));
    return m;
  }

  commitMetas(): void {
    for (const [zone, meta] of this.metas) zone.writeMeta(this.t, meta);
  }
}

/** A request's limit check: decided inside the shared transaction, acted on after it. */
export interface QueuedWork<T> {
  decide(tx: LimitTxn): T;
  fallback: T;
  act(result: T): void;
}

interface Declared {
  def: LimitZoneDef;
  zone: SharedZone;
}

/**
 * The limit zones of one load (both modules share nginx's one namespace
 * of shared zones) and, in a worker, the store database they live in.
 */
export class LimitSpace {
  private readonly declared = new Map<string, Declared>();
  private db: KvDatabase | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly failures = new WarnOnChange('limit store');
  private queue: Array<QueuedWork<unknown>> = [];
  private commits: CommitQueue | undefined;
  /** Run in the opening transaction after every zone is adopted (limit_conn's dead-worker sweep). */
  readonly onOpen: Array<(tx: LimitTxn) => void> = [];

  /** `limit_req_zone` / `limit_conn_zone`: nginx's checks on a zone name. */
  declare(def: LimitZoneDef): SharedZone {
    const prev = this.declared.get(def.name);
    if (prev !== undefined && prev.def.kind !== def.kind) {
      throw new ConfigError(`the shared memory zone "${def.name}" is already declared for a different use`);
    }
    if (prev !== undefined) throw new ConfigError(`${def.kind}_zone "${def.name}" is already bound to key "${prev.def.key.source}"`);
    const zone = new SharedZone(def);
    this.declared.set(def.name, { def, zone });
    return zone;
  }

  /**
   * The zone a `limit_req` / `limit_conn` at `file:line` names; zones may
   * be declared after their use, so this runs once the config is read.
   */
  resolve(kind: LimitKind, use: { zoneName: string; file: string; line: number }): SharedZone {
    const found = this.declared.get(use.zoneName);
    if (found === undefined) throw new ConfigError(`zero size shared memory zone "${use.zoneName}"`, use.file, use.line);
    if (found.def.kind !== kind) {
      throw new ConfigError(`the shared memory zone "${use.zoneName}" is already declared for a different use`, use.file, use.line);
    }
    return found.zone;
  }

  zones(kind: LimitKind): SharedZone[] {
    return [...this.declared.values()].filter((d) => d.def.kind === kind).map((d) => d.zone);
  }

  /** Opens the database once per worker (both limit modules ask), when any zone is declared. */
  initWorker(rt: Runtime): void {
    if (this.db === undefined && this.declared.size > 0) this.open(rt);
  }

  /** Writes the pending counts and lets the database go, once (both limit modules ask). */
  exitWorker(): void {
    const db = this.db;
    if (db === undefined) return;
    clearInterval(this.timer);
    this.flushCounters();
    this.db = undefined;
    this.commits = undefined;
    db.close();
  }

  /**
   * Runs `body` in one write transaction, with this worker's pending counts
   * added to the metas. A store failure never fails the request: it is
   * reported once and `fallback` returned (the request is not limited).
   */
  transact<T>(body: (tx: LimitTxn) => T, fallback: T): T {
    const db = this.db;
    if (db === undefined) return fallback;
    try {
      return db.write((t) => {
        const tx = new LimitTxn(t);
        const out = body(tx);
        for (const d of this.declared.values()) if (d.zone.dirty) tx.meta(d.zone);
        tx.commitMetas();
        return out;
      });
    } catch (e) {
      this.failures.report(e);
      return fallback;
    }
  }

  /** Runs `body` on a snapshot of the newest commit; `fallback` before the store opens or if it fails. */
  read<T>(body: (t: KvTxn) => T, fallback: T): T {
    try {
      return this.db === undefined ? fallback : this.db.read(body);
    } catch (e) {
      this.failures.report(e);
      return fallback;
    }
  }

  /**
   * Queues `work` for this loop turn's one write transaction: a commit
   * costs tens of microseconds whatever it holds, so every request that
   * arrived in the same turn shares it. Decisions run in arrival order
   * inside the transaction (exact across workers); `act` runs after the
   * commit, with the fallback if the store failed.
   */
  enqueue<T>(work: QueuedWork<T>): void {
    const commits = this.commits;
    if (commits === undefined) {
      work.act(work.fallback);
      return;
    }
    this.queue.push(work as QueuedWork<unknown>);
    commits.dirty();
  }

  /**
   * A flusher of the runtime's commit queue: it runs with the metric
   * writes at the end of the turn, and responses ended meanwhile (their
   * limit_conn slots released in the log phase) leave only after it.
   */
  private readonly runQueue = (): void => {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const results = this.transact(
      (tx) => batch.map((w) => w.decide(tx)),
      batch.map((w) => w.fallback),
    );
    for (let i = 0; i < batch.length; i++) batch[i].act(results[i]);
  };

  /** `/status/http/limit_reqs` or `limit_conns`: every zone's counters, all workers summed (one snapshot). */
  statusNode(kind: LimitKind): () => ApiNode {
    return () => {
      const zones = this.zones(kind);
      if (zones.some((z) => z.dirty)) this.transact(() => undefined, undefined);
      const out: Record<string, Record<string, unknown>> = Object.create(null);
      const read = (t: KvTxn | undefined) => {
        for (const z of zones) {
          const meta = t === undefined ? new Float64Array(1 + z.counterNames.length) : z.readMeta(t);
          out[z.def.name] = { ...Object.fromEntries(z.counterNames.map((n, i) => [n, meta[1 + i]])), ...(t && z.statusExtra?.(t)) };
        }
      };
      if (this.db === undefined) read(undefined);
      else this.db.read(read);
      return fromValue(out);
    };
  }

  private open(rt: Runtime): void {
    const db = KvDatabase.open(rt.store, 'limit');
    db.write((t) => {
      const tx = new LimitTxn(t);
      for (const d of this.declared.values()) d.zone.adopt(t);
      for (const hook of this.onOpen) hook(tx);
      tx.commitMetas();
    });
    this.db = db;
    this.commits = rt.commits;
    rt.commits.register(this.runQueue);
    this.timer = setInterval(() => this.flushCounters(), COUNTER_FLUSH_MS);
    this.timer.unref();
  }

  private flushCounters(): void {
    for (const d of this.declared.values()) {
      if (d.zone.dirty) {
        this.transact(() => undefined, undefined);
        return;
      }
    }
  }

}

export function limitSpace(b: Builder): LimitSpace {
  return b.moduleState('limit', () => new LimitSpace());
}
