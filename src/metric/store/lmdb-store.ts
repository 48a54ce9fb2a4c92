/**
 * The metric store: every zone of one metricproxy instance in one LMDB
 * environment, shared by all worker processes (LMDB serialises writers
 * across processes, so concurrent updates are never lost).
 *
 * Layout, per zone and definition fingerprint (see zoneFingerprint):
 *   z/<zone>/<fp>   key bytes → key record
 *   l/<zone>/<fp>   [seq u64 BE][key bytes] → (empty): least recently updated first
 *   meta            c/<zone> → the fingerprint the newest config uses
 *                   m/<zone>/<fp> → the zone's meta record
 * Giving every definition its own databases lets workers of an old config
 * keep writing during a reload without touching the new definition's data.
 *
 * Durability: the environment is opened with noSync (environment.ts). A commit is in the OS
 * page cache as soon as it returns, so a crash of metricproxy (or of a
 * worker) loses nothing; only an OS crash or power failure can lose what
 * was committed since the last sync() — and, as LMDB documents for noSync,
 * may then leave the file damaged. Metrics are counters, not ledgers: the
 * caller runs sync() on a timer to bound that window instead of paying an
 * fsync per request.
 */
import { Zone, type ZoneDef } from '../zone';
import {
  closeStoreDir,
  freshReadTxn,
  getBytes,
  openDb,
  openStoreDir,
  syncEnvironment,
  writeTxn,
  type OpenedStore,
  type StoreDb,
  type StoreEnv,
} from '../../store/environment';
import { defaultStoreSize } from '../../store/service';
import { StoreHealth, type StoreLog, type StoreReport } from './health';
import { MetricReader, type ReadableZone } from './reader';
import { staleKeys } from './ttl';
import { ZoneWriter, type ZoneDbis } from './zone-writer';

export interface MetricUpdate {
  zone: string;
  /** A byte string: every char code below 256 (UTF-8 bytes read as latin1). */
  key: string;
  value: number;
}

/** An update bound at load to its zone's writer (MetricEngine's MetricZone): no lookup by name. */
export interface BoundUpdate {
  writer: ZoneWriter;
  key: string;
  value: number;
}

export interface StoreOptions {
  /** Clock for averages and windows; Date.now by default (comparable across processes). */
  now?: () => number;
  /** `metric_store PATH size=`: the most the data file may use; by default max(1 GiB, 64 × the zones' sizes). */
  sizeBytes?: number;
  /** Where the store reports a full store or failed commits (an error-log line); silent by default. */
  log?: StoreLog;
}

interface OpenZone extends ReadableZone {
  writer: ZoneWriter;
}

export class MetricStore {
  private batch = 0;
  private readonly touched: ZoneWriter[] = [];

  private constructor(
    /** Shared with the store's other users (status records, limit zones). */
    readonly env: StoreEnv,
    /** Set when this store opened the environment itself (open()), so close() closes it. */
    private readonly owned: OpenedStore | undefined,
    private readonly metaDbi: StoreDb,
    private readonly zones: ReadonlyMap<string, OpenZone>,
    private readonly health: StoreHealth,
    private readonly now: () => number,
  ) {}

  /**
   * Opens (creating if needed) a store of its own in `dir` for these zone
   * definitions (tests, benchmarks; a worker attaches to its StoreService).
   * One store per process: LMDB forbids opening the same environment twice.
   */
  static open(dir: string, defs: readonly ZoneDef[], opts: StoreOptions = {}): MetricStore {
    const sizeBytes = opts.sizeBytes ?? defaultStoreSize(defs.reduce((sum, z) => sum + z.size, 0));
    const opened = openStoreDir(dir, { mapSize: sizeBytes, maxDbs: 2 * defs.length + 8 });
    try {
      return MetricStore.attach(opened, defs, opts, opened);
    } catch (err) {
      void closeStoreDir(opened);
      throw err;
    }
  }

  /**
   * The zones in an open environment. A zone whose definition changed since
   * the store last saw it starts empty; an unchanged one keeps its data.
   */
  static attach(at: OpenedStore, defs: readonly ZoneDef[], opts: StoreOptions = {}, owned?: OpenedStore): MetricStore {
    const env = at.env;
    const { metaDbi, health, zones } = writeTxn(env, () => {
      const meta = openDb(env, 'meta');
      const h = new StoreHealth(env, meta, `${at.realDir}/data.mdb`, at.sizeBytes, opts.log ?? (() => undefined));
      return { metaDbi: meta, health: h, zones: openZones(env, meta, h, defs) };
    });
    return new MetricStore(env, owned, metaDbi, zones, health, opts.now ?? Date.now);
  }

  /**
   * Applies updates in order, all in one write transaction (one request
   * phase, or a loop turn's). A batch that cannot commit is lost whole and
   * counted (see health.ts); it never throws.
   */
  applyBatch(updates: readonly MetricUpdate[]): void {
    this.commitBatch(updates, (u) => this.zone(u.zone).writer);
  }

  /** As applyBatch, for updates bound to their zone's writer at load (the engine's). */
  applyBound(updates: readonly BoundUpdate[]): void {
    this.commitBatch(updates, (u) => u.writer);
  }

  /** The writer of zone `name`, for the engine to bind its zones to when it attaches. */
  writerOf(name: string): ZoneWriter {
    return this.zone(name).writer;
  }

  private commitBatch<U extends { key: string; value: number }>(updates: readonly U[], writerOf: (u: U) => ZoneWriter): void {
    if (updates.length === 0) return;
    const batch = ++this.batch;
    const nowMs = this.now();
    this.health.check(nowMs);
    let wroteCounts = false;
    try {
      // Abortable: a throw inside rolls the whole batch back.
      writeTxn(this.env, () => {
        for (const u of updates) {
          const writer = writerOf(u);
          if (!this.touched.includes(writer)) this.touched.push(writer);
          writer.apply(batch, u.key, u.value, nowMs);
        }
        for (const writer of this.touched) writer.flush();
        wroteCounts = this.health.writeCounts(nowMs);
      }, updates.length);
    } catch (err) {
      this.health.failed(err, updates.length, nowMs);
      return;
    } finally {
      this.touched.length = 0;
    }
    this.health.committed(nowMs, wroteCounts);
  }

  /** Commits, failures, lost updates (every worker's) and the data file's use of its size. */
  report(): StoreReport {
    const txn = freshReadTxn(this.env);
    try {
      return this.health.report((db, key) => getBytes(db, key, txn));
    } finally {
      txn.done();
    }
  }

  /** A consistent snapshot of all zones; close() it when done. */
  reader(): MetricReader {
    return new MetricReader(freshReadTxn(this.env), this.zones, this.metaDbi, this.now());
  }

  /** `$metric_NAME_value` / `_value_SUB` for one key, read on its own. */
  keyStateText(zone: string, key: string, sub?: string): string | undefined {
    const reader = this.reader();
    try {
      return reader.text(zone, key, sub);
    } finally {
      reader.close();
    }
  }

  /** Flushes committed data to disk (off the main thread). */
  sync(): Promise<void> {
    return syncEnvironment(this.env);
  }

  /** API DELETE of a zone: its keys and `discarded` are gone, in one transaction. */
  clearZone(zone: string): void {
    const writer = this.zone(zone).writer;
    this.writeTxn(() => writer.clear());
  }

  /** API DELETE of one key; false when the zone shows no such key. */
  deleteKey(zone: string, key: string): boolean {
    const writer = this.zone(zone).writer;
    const nowMs = this.now();
    return this.writeTxn((batch) => {
      const removed = writer.removeKey(batch, key, nowMs);
      writer.flush();
      return removed;
    });
  }

  /**
   * Drops the keys past their zone's ttl; returns how many. A read finds
   * whether any zone has one first, so an idle sweep writes nothing.
   */
  sweepExpired(): number {
    const nowMs = this.now();
    const due = this.zonesWithStaleKeys(nowMs);
    if (due.length === 0) return 0;
    return this.writeTxn((batch) => {
      let swept = 0;
      for (const { writer } of due) {
        swept += writer.sweep(batch, nowMs);
        writer.flush();
      }
      return swept;
    });
  }

  /** Closes the environment if this store opened it; an attached store leaves that to its service. */
  async close(): Promise<void> {
    if (this.owned !== undefined) await closeStoreDir(this.owned);
  }

  private zonesWithStaleKeys(nowMs: number): OpenZone[] {
    const withTtl = [...this.zones.values()].filter((z) => z.zone.ttl > 0);
    if (withTtl.length === 0) return [];
    const txn = freshReadTxn(this.env);
    try {
      return withTtl.filter((z) => staleKeys(z.dbis.lru, z.zone.ttl, nowMs, 1, txn).length > 0);
    } finally {
      txn.done();
    }
  }

  /** One write transaction outside the per-phase batches (API writes, sweeps). */
  private writeTxn<T>(body: (batch: number) => T): T {
    const batch = ++this.batch;
    // Abortable: a throw inside rolls it back and is passed on.
    return writeTxn(this.env, () => body(batch));
  }

  private zone(name: string): OpenZone {
    const found = this.zones.get(name);
    if (found === undefined) throw new Error(`unknown metric zone "${name}"`);
    return found;
  }
}

/** Opens every zone's databases, emptying changed ones (inside the caller's write transaction). */
function openZones(env: StoreEnv, metaDbi: StoreDb, health: StoreHealth, defs: readonly ZoneDef[]): Map<string, OpenZone> {
  const zones = new Map<string, OpenZone>();
  for (const def of defs) {
    if (zones.has(def.name)) throw new Error(`duplicate metric zone "${def.name}"`);
    zones.set(def.name, openZone(env, metaDbi, health, new Zone(def)));
  }
  return zones;
}

function openZone(env: StoreEnv, metaDbi: StoreDb, health: StoreHealth, zone: Zone): OpenZone {
  const { name } = zone.def;
  const fp = zone.fingerprint;
  const dbis: ZoneDbis = {
    records: openDb(env, `z/${name}/${fp}`),
    lru: openDb(env, `l/${name}/${fp}`),
    metaKey: Buffer.from(`m/${name}/${fp}`),
  };
  const writer = new ZoneWriter(zone, dbis, metaDbi, health);
  const currentKey = Buffer.from(`c/${name}`);
  const current = getBytes(metaDbi, currentKey);
  // Switching to this definition from another one (A→B, or back B→A)
  // starts it empty; reopening the same definition keeps its data.
  if (current === undefined || current.toString() !== fp) {
    dbis.records.clearSync();
    dbis.lru.clearSync();
    metaDbi.putSync(dbis.metaKey, writer.freshMeta());
    metaDbi.putSync(currentKey, Buffer.from(fp));
  }
  writer.markOrderUnknown();
  return { zone, dbis, writer };
}
